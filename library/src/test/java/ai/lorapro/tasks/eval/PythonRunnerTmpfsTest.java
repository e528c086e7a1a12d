package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

/**
 * Under bwrap a program's private /tmp, /dev/shm and hidden directories are in-memory file systems:
 * what it writes there is the host's memory, outside its address-space limit, so they are bounded.
 */
class PythonRunnerTmpfsTest {

    @Test
    void aProgramCannotFillTheHostsMemoryThroughItsPrivateTmp() {
        Optional<PythonRunner> python = PythonRunner.find(Duration.ofSeconds(10));
        assumeTrue(python.isPresent(), "python3 is not available");
        assumeTrue(python.get().sandbox().boundsInMemoryFileSystems(), "no bwrap here, or one without --size");
        // 20 files of 15 MiB, each under the 16 MiB file-size limit: 300 MiB in all, in /tmp and /dev/shm
        for (String dir : new String[] {"/tmp", "/dev/shm"}) {
            String program = "chunk = b'x' * (1 << 20)\n"
                    + "for i in range(20):\n"
                    + "    with open('" + dir + "/f%d' % i, 'wb') as f:\n"
                    + "        for j in range(15):\n"
                    + "            f.write(chunk)\n";
            assertEquals(PythonRunner.Outcome.FAILED, python.get().run(program), dir);
        }
    }
}
