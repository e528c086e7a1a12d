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
 * A program may replace the file its output goes to ({@code output.txt} in its working directory,
 * which it can write to where the sandbox lets it: bwrap as root, any non-root user): the
 * evaluation must still end, and not read through a FIFO, a device or a link the program made.
 */
class PythonRunnerOutputFileTest {

    private static Optional<PythonRunner> python;

    @BeforeAll
    static void find() {
        python = PythonRunner.find(Duration.ofSeconds(10));
    }

    /** The runner, when its programs can write into their own working directory (else the test is moot). */
    private static PythonRunner writableRunner() {
        assumeTrue(python.isPresent(), "python3 is not available");
        assumeTrue(python.get().run("import os, sys\nsys.exit(0 if os.access('.', os.W_OK) else 1)\n")
                == PythonRunner.Outcome.PASSED, "programs cannot write their working directory here");
        return python.get();
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
