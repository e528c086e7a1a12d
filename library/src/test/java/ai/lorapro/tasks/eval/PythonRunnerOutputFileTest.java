package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Optional;

/**
 * A program may replace the file its output goes to ({@code output.txt} in its working directory)
 * where the sandbox lets it: where the working directory is the host's (no bwrap with {@code
 * --size}) and writable to the program (bwrap as root, any non-root user). The evaluation must
 * still end, and not read through a FIFO, a device or a link the program made. Under bwrap with
 * {@code --size} the file is bound in read-only and cannot be replaced ({@code
 * PythonRunnerTmpfsTest}), so these tests run the machine's sandbox without sizes.
 */
class PythonRunnerOutputFileTest {

    private static Optional<PythonRunner> python;

    @BeforeAll
    static void find() {
        python = PythonRunner.find(Duration.ofSeconds(10));
    }

    /** The runner without sizes, when its programs can replace their output file (else the test is moot). */
    private static PythonRunner writableRunner() {
        assumeTrue(python.isPresent(), "python3 is not available");
        PythonRunner runner = python.get().withSandbox(python.get().sandbox().withoutSizes());
        assumeTrue(runner.run("import os\nos.rename('output.txt', 'moved.txt')\n")
                == PythonRunner.Outcome.PASSED, "programs cannot replace their output file here");
        return runner;
    }

    @Test
    void aProgramThatTurnsItsOutputFileIntoAFifoDoesNotHangTheEvaluation() {
        PythonRunner runner = writableRunner();
        String marker = PythonRunner.newMarker();
        String program = "import os\nos.remove('output.txt')\nos.mkfifo('output.txt')\nprint('" + marker + "')\n";
        PythonRunner.Outcome outcome = assertTimeoutPreemptively(Duration.ofSeconds(30),
                () -> runner.run(program, marker));
        assertNotEquals(PythonRunner.Outcome.TIMED_OUT, outcome);
    }

    /**
     * The output is searched in chunks of 64 KiB: a marker across two chunks, and one after a 3 MB
     * line with no line break, are found (and a program that never prints it fails).
     */
    @Test
    void theMarkerIsFoundAcrossReadChunksAndAfterAVeryLongLine() {
        assumeTrue(python.isPresent(), "python3 is not available");
        PythonRunner runner = python.get();
        String marker = PythonRunner.newMarker();
        String acrossChunks = "import sys\nsys.stdout.write('x' * (65536 - 10))\nprint('" + marker + "')\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner.run(acrossChunks, marker));
        String longLine = "import sys\nsys.stdout.write('y' * 3000000)\nprint('" + marker + "')\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner.run(longLine, marker));
        String never = "import sys\nsys.stdout.write('y' * 3000000)\nprint('lorapro-reached-0')\n";
        assertEquals(PythonRunner.Outcome.FAILED, runner.run(never, marker));
    }

    @Test
    void aProgramThatLinksItsOutputFileToAnEndlessDeviceDoesNotExhaustTheEvaluation() {
        PythonRunner runner = writableRunner();
        String marker = PythonRunner.newMarker();
        String program = "import os\nos.remove('output.txt')\nos.symlink('/dev/zero', 'output.txt')\n";
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> runner.run(program, marker));
    }
}
