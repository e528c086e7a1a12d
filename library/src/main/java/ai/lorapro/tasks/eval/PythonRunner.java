package ai.lorapro.tasks.eval;

import ai.lorapro.LoraProException;
import ai.lorapro.io.AtomicFiles;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
        /** Exit status 0 (and, for a run with a marker, the marker printed). */
        PASSED,
        /** A non-zero exit status (an exception, a failed assertion, a limit hit). */
        FAILED,
        /** Still running at the timeout; killed. */
        TIMED_OUT
    }

    private static final SecureRandom RANDOM = new SecureRandom();
    /** How long the interpreter may take to say what it is. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(30);
    private static final Logger LOGGER = LoggerFactory.getLogger(PythonRunner.class);

    private final String interpreter;
    private final Duration timeout;
    private final CodeSandbox sandbox;

    private PythonRunner(String interpreter, Duration timeout, CodeSandbox sandbox) {
        this.interpreter = interpreter;
        this.timeout = timeout;
        this.sandbox = sandbox;
    }

    /** This runner with another sandbox (tests of a weaker one than this machine offers). */
    PythonRunner withSandbox(CodeSandbox other) {
        return new PythonRunner(interpreter, timeout, other);
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
        return find(executable, timeout, PROBE_TIMEOUT);
    }

    /** {@link #find(String, Duration)}, waiting at most {@code probeTimeout} for the interpreter's answer. */
    static Optional<PythonRunner> find(String executable, Duration timeout, Duration probeTimeout) {
        Process process = null;
        try {
            process = new ProcessBuilder(executable, "-I", "-c",
                    "import sys; print(sys.version_info[0], sys.executable)").redirectErrorStream(true).start();
            process.getOutputStream().close();
            // read on a thread of its own: an executable that never ends (a shim waiting for input)
            // must not hold the caller past the timeout
            InputStream stdout = process.getInputStream();
            FutureTask<byte[]> output = new FutureTask<>(stdout::readAllBytes);
            Thread reader = new Thread(output, "lorapro-python-probe");
            reader.setDaemon(true);
            reader.start();
            // one deadline for the exit and the output (a child may hold the output open after it)
            long deadline = System.nanoTime() + probeTimeout.toNanos();
            byte[] bytes;
            if (process.waitFor(probeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                // a moment's grace for the reader of an interpreter that exited right at the deadline
                bytes = output.get(Math.max(TimeUnit.MILLISECONDS.toNanos(100), deadline - System.nanoTime()),
                        TimeUnit.NANOSECONDS);
            } else {
                throw new TimeoutException();
            }
            String answer = new String(bytes, StandardCharsets.UTF_8).strip();
            if (process.exitValue() != 0 || !answer.startsWith("3 /")) {
                return Optional.empty();
            }
            // the real file, not a virtual environment's link to it: the programs need the standard
            // library alone, and a link under the home directory would be hidden by the sandbox
            String interpreter = Path.of(answer.substring(2)).toRealPath().toString();
            return CodeSandbox.probe(interpreter, SandboxLimits.forTimeout(timeout))
                    .map(sandbox -> new PythonRunner(interpreter, timeout, sandbox));
        } catch (TimeoutException e) {
            LOGGER.warn("{} did not say what it is within {} ms; code execution will not use it", executable,
                    probeTimeout.toMillis());
            return Optional.empty();
        } catch (IOException | ExecutionException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        } finally {
            if (process != null) {
                // its children too (a shim's interpreter), while they are still its own
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
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
        return run(program, null);
    }

    /**
     * A marker for {@link #run(String, String)}: random, so that a program cannot print it by
     * chance.
     */
    public static String newMarker() {
        byte[] bytes = new byte[16];
        RANDOM.nextBytes(bytes);
        return "lorapro-reached-" + HexFormat.of().formatHex(bytes);
    }

    /** {@code text}, checked to be ASCII letters, digits and dashes (safe inside a Python literal). */
    static String plainMarker(String text) {
        if (!text.matches("[A-Za-z0-9-]+")) {
            throw new IllegalArgumentException("not a plain marker: " + text);
        }
        return text;
    }

    /**
     * Runs one program that prints {@code marker} as its last line when it gets to its end.
     *
     * @param program the Python source
     * @param marker what the program prints last ({@link #newMarker}), or null to go by the exit
     *     status alone
     * @return passed when it exited with 0 and (with a marker) printed it, failed otherwise, or
     *     timed out
     * @throws LoraProException if the program cannot be written or the interpreter cannot start
     * @throws IllegalArgumentException if the marker is not plain (ASCII letters, digits and
     *     dashes, as {@link #newMarker} makes them), before the program runs
     */
    public Outcome run(String program, String marker) {
        if (marker != null) {
            plainMarker(marker);
        }
        Path dir = null;
        Process process = null;
        Thread reaper = null;
        FileChannel output = null;
        try {
            dir = CodeSandbox.workDirectory();
            Path source = dir.resolve("program.py");
            AtomicFiles.writeString(source, program);
            source.toFile().setReadable(true, false);
            // the output file is opened here, before the program runs, and read through this channel:
            // the program may replace the name in its own directory (a FIFO, a link to /dev/zero)
            Path outputFile = Files.createFile(dir.resolve("output.txt"));
            output = FileChannel.open(outputFile, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            ProcessBuilder builder = new ProcessBuilder(sandbox.command(dir, List.of(interpreter, "-I", "-B",
                    source.toString())))
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(outputFile.toFile());
            builder.environment().clear();
            process = builder.start();
            // a JVM stopped by Ctrl-C takes the program with it (outside bubblewrap nothing else would)
            Process started = process;
            reaper = new Thread(() -> killGroup(started), "lorapro-sandbox-reaper");
            Runtime.getRuntime().addShutdownHook(reaper);
            process.getOutputStream().close();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                killGroup(process);
                return Outcome.TIMED_OUT;
            }
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            boolean reached = marker == null || printed(output, marker);
            return process.exitValue() == 0 && reached ? Outcome.PASSED : Outcome.FAILED;
        } catch (IOException e) {
            throw new LoraProException("cannot run " + interpreter + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoraProException("interrupted while running " + interpreter, e);
        } finally {
            if (process != null && process.isAlive()) {
                killGroup(process); // an interrupted or failed wait
            }
            if (reaper != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(reaper);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs anyway
                }
            }
            if (output != null) {
                try {
                    output.close();
                } catch (IOException e) {
                    // only a read handle
                }
            }
            if (dir != null) {
                deleteWorkDirectory(dir);
            }
        }
    }

    /**
     * Deletes a program's working directory, giving back the permissions the program may have
     * taken from its own files ({@code chmod 000} on a directory would otherwise keep everything
     * in it, up to the file-size limit times the number of files); what still cannot be deleted
     * is logged (it does not change the result).
     */
    private static void deleteWorkDirectory(Path dir) {
        try {
            AtomicFiles.deleteRecursively(dir);
        } catch (IOException first) {
            try {
                makeRemovable(dir);
                AtomicFiles.deleteRecursively(dir);
            } catch (IOException | RuntimeException e) {
                LOGGER.warn("cannot delete the sandbox directory {}: {}", dir, e.toString());
            }
        }
    }

    private static void makeRemovable(Path dir) throws IOException {
        File file = dir.toFile();
        file.setReadable(true, true);
        file.setWritable(true, true);
        file.setExecutable(true, true);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    makeRemovable(entry);
                }
            }
        }
    }

    /** The most of a program's output read for its marker (its file-size limit is far below). */
    private static final long MAX_OUTPUT_READ = 256L << 20;
    /** Bytes of output read at a time. */
    private static final int CHUNK = 64 << 10;

    /**
     * Whether the output file open in {@code output} holds {@code marker} (a plain marker: letters,
     * digits and dashes, so never across lines), reading from its start at most {@link
     * #MAX_OUTPUT_READ} bytes, {@link #CHUNK} at a time: a long line costs no more memory than a
     * short one.
     */
    private static boolean printed(FileChannel output, String marker) throws IOException {
        byte[] wanted = marker.getBytes(StandardCharsets.US_ASCII);
        byte[] buffer = new byte[CHUNK + wanted.length];
        int kept = 0; // the end of the previous chunk, where a marker may begin
        for (long position = 0; position < MAX_OUTPUT_READ; ) {
            int read = output.read(ByteBuffer.wrap(buffer, kept, CHUNK), position);
            if (read <= 0) {
                return false;
            }
            position += read;
            int end = kept + read;
            if (indexOf(buffer, end, wanted) >= 0) {
                return true;
            }
            kept = Math.min(wanted.length - 1, end);
            System.arraycopy(buffer, end - kept, buffer, 0, kept);
        }
        return false;
    }

    /** The first index of {@code wanted} in {@code bytes[0, end)}, or -1. */
    private static int indexOf(byte[] bytes, int end, byte[] wanted) {
        outer:
        for (int i = 0; i + wanted.length <= end; i++) {
            for (int k = 0; k < wanted.length; k++) {
                if (bytes[i + k] != wanted[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /**
     * Kills a program still running at the timeout: its process group (the sandbox starts it in a
     * new session, so the group id is its PID, not yet reused because the process is not reaped)
     * and its process tree.
     */
    private static void killGroup(Process process) {
        try {
            Process kill = new ProcessBuilder("kill", "-KILL", "--", "-" + process.pid())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            kill.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
            // no kill command: the process tree below still goes
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // kill on, without waiting
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
