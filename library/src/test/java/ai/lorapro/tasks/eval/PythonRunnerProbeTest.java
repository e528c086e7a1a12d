package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The search for a Python interpreter gives up on one that never answers. */
class PythonRunnerProbeTest {

    @TempDir Path tmp;

    @Test
    void anInterpreterThatNeverAnswersIsGivenUpAfterTheProbeTimeout() throws Exception {
        assumeTrue(!System.getProperty("os.name").startsWith("Windows"), "a shell script stands in for python3");
        Path hanging = tmp.resolve("python3");
        // like a shim that waits for input: it holds its output open and never exits
        Files.writeString(hanging, "#!/bin/sh\nsleep 600\n");
        assertTrue(hanging.toFile().setExecutable(true));
        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertTrue(
                PythonRunner.find(hanging.toString(), Duration.ofSeconds(5), Duration.ofSeconds(1)).isEmpty()));
        // it did run and was waited for (a script that cannot start, on a noexec /tmp, returns at once)
        assertTrue(System.nanoTime() - start >= 900_000_000L, "returned before the probe timeout");
    }
}
