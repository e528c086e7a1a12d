package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** The search for a Python interpreter gives up on one that never answers. */
class PythonRunnerProbeTest {

    @TempDir Path tmp;

    @Test
    void anInterpreterThatNeverAnswersIsGivenUpAfterTheProbeTimeout() throws Exception {
        Path hanging = script("python3", "sleep 600");
        long start = System.nanoTime();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertTrue(
                PythonRunner.find(hanging.toString(), Duration.ofSeconds(5), Duration.ofSeconds(1)).isEmpty()));
        assertTrue(System.nanoTime() - start >= 900_000_000L, "returned before the probe timeout");
    }

    /** An executable shell script, if scripts can run here (not on Windows, nor from a noexec /tmp). */
    private Path script(String name, String body) throws IOException, InterruptedException {
        assumeTrue(!System.getProperty("os.name").startsWith("Windows"), "a shell script stands in for python3");
        Path probe = tmp.resolve("probe.sh");
        Files.writeString(probe, "#!/bin/sh\nexit 0\n");
        assertTrue(probe.toFile().setExecutable(true));
        try {
            Process started = new ProcessBuilder(probe.toString()).start();
            assumeTrue(started.waitFor(10, java.util.concurrent.TimeUnit.SECONDS) && started.exitValue() == 0,
                    "scripts do not run from " + tmp);
        } catch (IOException e) {
            assumeTrue(false, "scripts cannot run from " + tmp + ": " + e.getMessage());
        }
        Path file = tmp.resolve(name);
        Files.writeString(file, "#!/bin/sh\n" + body + "\n");
        assertTrue(file.toFile().setExecutable(true));
        return file;
    }
}
