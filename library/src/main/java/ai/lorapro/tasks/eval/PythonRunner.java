package ai.lorapro.tasks.eval;

import ai.lorapro.LoraProException;
import ai.lorapro.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs untrusted Python programs (HumanEval completions) in a {@link CodeSandbox}, one at a time,
 * each in a fresh working directory with an empty environment, resource limits and a wall-clock
 * timeout at which the program's whole process group and process tree are killed. What the
 * sandbox cannot prevent depends on the isolation found ({@link #isolation()}); see
 * docs/reliability.md.
 */
public final class PythonRunner {

    /** The outcome of one program. */
    public enum Outcome {
        /** Exit status 0. */
        PASSED,
        /** A non-zero exit status (an exception, a failed assertion, a limit hit). */
        FAILED,
        /** Still running at the timeout; killed. */
        TIMED_OUT
    }

    private final String interpreter;
    private final Duration timeout;
    private final CodeSandbox sandbox;

    private PythonRunner(String interpreter, Duration timeout, CodeSandbox sandbox) {
        this.interpreter = interpreter;
        this.timeout = timeout;
        this.sandbox = sandbox;
    }

    /**
     * A runner for {@code python3} on the path, if it starts inside a sandbox.
     *
     * @param timeout the longest a program may run
     * @return the runner, or empty when no {@code python3} runs here
     */
    public static Optional<PythonRunner> find(Duration timeout) {
        return find("python3", timeout);
    }

    /**
     * A runner for {@code executable}, if it reports a Python 3 interpreter that runs sandboxed.
     * The interpreter's real path is asked once with the caller's environment (launchers such as
     * pyenv's need it); programs then run it directly with an empty environment.
     *
     * @param executable a command name or path
     * @param timeout the longest a program may run
     */
    public static Optional<PythonRunner> find(String executable, Duration timeout) {
        try {
            Process process = new ProcessBuilder(executable, "-I", "-c",
                    "import sys; print(sys.version_info[0], sys.executable)").redirectErrorStream(true).start();
            process.getOutputStream().close();
            String answer = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return Optional.empty();
            }
            if (process.exitValue() != 0 || !answer.startsWith("3 /")) {
                return Optional.empty();
            }
            String interpreter = answer.substring(2);
            return CodeSandbox.probe(interpreter, SandboxLimits.forTimeout(timeout))
                    .map(sandbox -> new PythonRunner(interpreter, timeout, sandbox));
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /** What confined the programs: namespaces, user, limits. */
    public String isolation() {
        return sandbox.describe();
    }

    /** The sandbox the programs run in. */
    public CodeSandbox sandbox() {
        return sandbox;
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
            dir = CodeSandbox.workDirectory();
            Path source = dir.resolve("program.py");
            AtomicFiles.writeString(source, program);
            source.toFile().setReadable(true, false);
            ProcessBuilder builder = new ProcessBuilder(sandbox.command(dir, List.of(interpreter, "-I", "-B",
                    source.toString())))
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(dir.resolve("output.txt").toFile());
            builder.environment().clear();
            Process process = builder.start();
            process.getOutputStream().close();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                killGroup(process);
                return Outcome.TIMED_OUT;
            }
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            return process.exitValue() == 0 ? Outcome.PASSED : Outcome.FAILED;
        } catch (IOException e) {
            throw new LoraProException("cannot run " + interpreter + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoraProException("interrupted while running " + interpreter, e);
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

    /**
     * Kills a program still running at the timeout: its process group (the sandbox starts it in a
     * new session, so the group id is its PID, not yet reused because the process is not reaped)
     * and its process tree.
     */
    private static void killGroup(Process process) throws InterruptedException {
        try {
            Process kill = new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // no kill command: the process tree below still goes
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
