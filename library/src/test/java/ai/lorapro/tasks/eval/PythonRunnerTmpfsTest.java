package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

/**
 * Under bwrap a program's working directory, private /tmp, /dev/shm and hidden directories are
 * in-memory file systems of a fixed size: what it writes to /tmp and /dev/shm is the host's
 * memory, outside its address-space limit, and its working directory would otherwise be the
 * host's disk, so each is bounded.
 */
class PythonRunnerTmpfsTest {

    @Test
    void aProgramCannotFillTheHostsMemoryOrDiskThroughItsDirectories() {
        Optional<PythonRunner> python = PythonRunner.find(Duration.ofSeconds(10));
        assumeTrue(python.isPresent(), "python3 is not available");
        assumeTrue(python.get().sandbox().boundsInMemoryFileSystems(), "no bwrap here, or one without --size");
        assertEquals(true, python.get().sandbox().boundsItsWorkingDirectory());
        for (String dir : new String[] {"/tmp", "/dev/shm", "."}) {
            // 20 files of 15 MiB, each under the 16 MiB file-size limit: 300 MiB in all
            assertEquals(PythonRunner.Outcome.FAILED, python.get().run(writeFiles(dir, 20)), dir);
            // two of them (30 MiB) fit: it is the size of the file system that stops the program
            assertEquals(PythonRunner.Outcome.PASSED, python.get().run(writeFiles(dir, 2)), dir);
        }
    }

    private static String writeFiles(String dir, int files) {
        return "chunk = b'x' * (1 << 20)\n"
                + "for i in range(" + files + "):\n"
                + "    with open('" + dir + "/f%d' % i, 'wb') as f:\n"
                + "        for j in range(15):\n"
                + "            f.write(chunk)\n";
    }
}
