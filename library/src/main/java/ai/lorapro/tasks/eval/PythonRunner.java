package ai.lorapro.tasks.eval;

import ai.lorapro.LoraProException;
import ai.lorapro.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs Python programs in a subprocess with a timeout, each in a fresh temporary directory, for
 * HumanEval's functional correctness check. The programs need no network; they are run with
 * {@code -I} (isolated mode: no user site-packages, no environment variables, no current
 * directory on the path). Running untrusted generated code has the usual risks: run evaluations
 * in a sandbox.
 */
public final class PythonRunner {

    /** The outcome of one program. */
    public enum Outcome {
        /** Exit status 0. */
        PASSED,
        /** A non-zero exit status (an exception, a failed assertion). */
        FAILED,
        /** Still running at the timeout; killed. */
        TIMED_OUT
    }

    private final String executable;
    private final Duration timeout;

    private PythonRunner(String executable, Duration timeout) {
        this.executable = executable;
        this.timeout = timeout;
    }

    /**
     * A runner for {@code python3} on the path, if it starts.
     *
     * @param timeout the longest a program may run
     * @return the runner, or empty when no {@code python3} runs here
     */
    public static Optional<PythonRunner> find(Duration timeout) {
        return find("python3", timeout);
    }

    /**
     * A runner for {@code executable}, if it starts and reports a Python 3 version.
     *
     * @param executable a command name or path
     * @param timeout the longest a program may run
     */
    public static Optional<PythonRunner> find(String executable, Duration timeout) {
        try {
            Process process = new ProcessBuilder(executable, "--version").redirectErrorStream(true).start();
            String version = new String(process.getInputStream().readAllBytes()).strip();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return Optional.empty();
            }
            return process.exitValue() == 0 && version.startsWith("Python 3")
                    ? Optional.of(new PythonRunner(executable, timeout)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * Runs one program.
     *
     * @param program the Python source
     * @return whether it exited with 0, failed, or timed out
     * @throws LoraProException if the program cannot be written or the interpreter cannot start
     */
    public Outcome run(String program) {
        Path dir = null;
        try {
            dir = Files.createTempDirectory("lorapro-humaneval");
            Path source = dir.resolve("program.py");
            AtomicFiles.writeString(source, program);
            Process process = new ProcessBuilder(executable, "-I", source.toString())
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("output.txt").toFile())
                    .start();
            process.getOutputStream().close();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(10, TimeUnit.SECONDS);
                return Outcome.TIMED_OUT;
            }
            return process.exitValue() == 0 ? Outcome.PASSED : Outcome.FAILED;
        } catch (IOException e) {
            throw new LoraProException("cannot run " + executable + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoraProException("interrupted while running " + executable, e);
        } finally {
            if (dir != null) {
                try {
                    AtomicFiles.deleteRecursively(dir);
                } catch (IOException e) {
                    // a leftover temporary directory does not change the result
                }
            }
        }
    }
}
