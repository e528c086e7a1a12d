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
        for (String dir : new String[] {"/tmp", "/dev/shm", "."}) {
            // 20 files of 15 MiB, each under the 16 MiB file-size limit: 300 MiB in all
            assertEquals(PythonRunner.Outcome.FAILED, python.get().run(writeFiles(dir, 20)), dir);
            // two of them (30 MiB) fit: it is the size of the file system that stops the program
            assertEquals(PythonRunner.Outcome.PASSED, python.get().run(writeFiles(dir, 2)), dir);
        }
    }

    /**
     * The files the evaluation put in the in-memory working directory are bound in read-only: the
     * program can neither remove nor write its program or output file, and its output still
     * reaches the evaluation (through the handle it was started with).
     */
    @Test
    void theProgramAndOutputFilesCannotBeChangedAndTheOutputIsStillRead() {
        Optional<PythonRunner> python = PythonRunner.find(Duration.ofSeconds(10));
        assumeTrue(python.isPresent(), "python3 is not available");
        assumeTrue(python.get().sandbox().boundsInMemoryFileSystems(), "no bwrap here, or one without --size");
        String marker = PythonRunner.newMarker();
        String program = "import os, sys\n"
                + "for name in ('output.txt', 'program.py'):\n"
                + "    for change in (os.remove, lambda n: open(n, 'a').close(), lambda n: os.rename(n, 'x')):\n"
                + "        try:\n"
                + "            change(name)\n"
                + "            sys.exit(1)\n"
                + "        except OSError:\n"
                + "            pass\n"
                + "print('" + marker + "')\n";
        assertEquals(PythonRunner.Outcome.PASSED, python.get().run(program, marker));
    }

    private static String writeFiles(String dir, int files) {
        return "chunk = b'x' * (1 << 20)\n"
                + "for i in range(" + files + "):\n"
                + "    with open('" + dir + "/f%d' % i, 'wb') as f:\n"
                + "        for j in range(15):\n"
                + "            f.write(chunk)\n";
    }
}
