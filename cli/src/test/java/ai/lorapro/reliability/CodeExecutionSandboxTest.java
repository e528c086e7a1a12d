package ai.lorapro.reliability;

import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.lorapro.cli.CliRun;
import ai.lorapro.tasks.TaskEvaluator;
import ai.lorapro.tasks.eval.HumanEvalEvaluation;
import ai.lorapro.tasks.eval.HumanEvalProblem;
import ai.lorapro.tasks.eval.PythonRunner;
import ai.lorapro.tasks.eval.SandboxLimits;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * HumanEval's generated code runs only with {@code --allow-code-execution}, and then confined:
 * crafted programs cannot read the caller's environment, leave a detached child behind, reach the
 * network or write outside their directory (where the sandbox found provides that), and hit the
 * memory, file-size and CPU limits.
 */
class CodeExecutionSandboxTest extends TinyModelCliTestBase {

    private static Path problems;
    private static Optional<PythonRunner> python;

    @TempDir
    Path tmp;

    @BeforeAll
    static void setUp() throws IOException {
        JsonObject add = new JsonObject();
        add.addProperty("task_id", "HumanEval/0");
        add.addProperty("prompt", "def add(a, b):\n    \"\"\"Return the sum of a and b.\"\"\"\n");
        add.addProperty("entry_point", "add");
        add.addProperty("test", "def check(candidate):\n    assert candidate(2, 3) == 5\n");
        problems = Files.writeString(shared.resolve("HumanEval.jsonl"), add + "\n");
        python = PythonRunner.find(Duration.ofSeconds(20));
    }

    private static PythonRunner runner() {
        assumeTrue(python.isPresent(), "python3 is not available");
        return python.get();
    }

    private static JsonObject metrics(Path out) throws IOException {
        return JsonParser.parseString(Files.readString(out.resolve("metrics.json"))).getAsJsonObject();
    }

    @Test
    void withoutTheFlagNothingIsExecutedAndTheOutputSaysSo() throws IOException {
        Path out = tmp.resolve("eval");
        CliRun.Result r = cli("eval", "--task", "humaneval", "--model", model.toString(), "--data",
                problems.toString(), "--out", out.toString(), "--max-new-tokens", "2", "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertFalse(metrics(out).get("executed").getAsBoolean());
        assertTrue(metrics(out).get("note").getAsString().contains("--allow-code-execution"));
        assertTrue(r.out().contains("--allow-code-execution"), r.out());
        assertTrue(Files.isRegularFile(out.resolve(HumanEvalEvaluation.SAMPLES_FILE)));
        assertFalse(Files.exists(out.resolve(HumanEvalEvaluation.RESULTS_FILE)));
    }

    @Test
    void withTheFlagTheOutputRecordsTheIsolationInForce() throws IOException {
        runner();
        Path out = tmp.resolve("eval");
        CliRun.Result r = cli("eval", "--task", "humaneval", "--model", model.toString(), "--data",
                problems.toString(), "--out", out.toString(), "--max-new-tokens", "2", "--device", "cpu",
                "--allow-code-execution");
        assertEquals(0, r.code(), r.err());
        assertTrue(metrics(out).get("executed").getAsBoolean());
        assertEquals(PythonRunner.find(TaskEvaluator.HUMANEVAL_TIMEOUT).orElseThrow().isolation(),
                metrics(out).get("sandbox").getAsString());
        assertTrue(Files.isRegularFile(out.resolve(HumanEvalEvaluation.RESULTS_FILE)));
    }

    /** PWD (the sandbox's own directory, set by bwrap) and LC_CTYPE (Python's locale coercion) are not the caller's. */
    @Test
    void aProgramSeesNoneOfTheCallersEnvironment() {
        assumeTrue(System.getenv().containsKey("PATH") || System.getenv().containsKey("HOME"));
        String names = System.getenv().keySet().stream().map(n -> "'" + n.replace("'", "") + "'")
                .collect(Collectors.joining(", "));
        String program = "import os, sys\n"
                + "leaked = [n for n in [" + names + "] if n in os.environ and n not in ('LC_CTYPE', 'PWD')]\n"
                + "print(leaked)\n"
                + "sys.exit(1 if leaked or 'PATH' in os.environ or 'HOME' in os.environ else 0)\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
    }

    @Test
    void aDetachedChildDoesNotOutliveTheProgram() throws Exception {
        assumeTrue(runner().sandbox().killsAllProcesses(), "no PID namespace and no process limit here");
        String marker = "97." + ProcessHandle.current().pid();
        String program = "import os, sys\n"
                + "try:\n"
                + "    pid = os.fork()\n"
                + "except OSError:\n"
                + "    sys.exit(0)\n"
                + "if pid == 0:\n"
                + "    os.setsid()\n"
                + "    try:\n"
                + "        if os.fork() == 0:\n"
                + "            os.execv('/bin/sleep', ['sleep', '" + marker + "'])\n"
                + "    except OSError:\n"
                + "        pass\n"
                + "    os._exit(0)\n"
                + "os.waitpid(pid, 0)\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        List<ProcessHandle> left;
        do {
            left = ProcessHandle.allProcesses().filter(p -> p.info().commandLine().orElse("").contains(marker)).toList();
        } while (!left.isEmpty() && System.nanoTime() < deadline && sleep());
        left.forEach(ProcessHandle::destroyForcibly);
        assertTrue(left.isEmpty(), "left running: " + left);
    }

    @Test
    void aProgramCannotReachTheNetwork() throws Exception {
        assumeTrue(runner().sandbox().hasNoNetwork(), "no network namespace here");
        try (ServerSocket server = new ServerSocket(0)) {
            server.setSoTimeout(200);
            String program = "import socket, sys\n"
                    + "try:\n"
                    + "    socket.create_connection(('127.0.0.1', " + server.getLocalPort() + "), timeout=2)\n"
                    + "except OSError:\n"
                    + "    sys.exit(0)\n"
                    + "sys.exit(1)\n";
            assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
            try {
                server.accept().close();
                throw new AssertionError("the program connected");
            } catch (SocketTimeoutException expected) {
                // nobody connected
            }
        }
    }

    @Test
    void aProgramCannotWriteOutsideItsDirectory() throws IOException {
        assumeTrue(runner().sandbox().hasReadOnlyFileSystem(), "no read-only file system here");
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "keep");
        String program = "import os\n"
                + "for f in [lambda: os.remove(r'" + victim + "'), lambda: open(r'" + tmp.resolve("new.txt")
                + "', 'w').write('x')]:\n"
                + "    try:\n"
                + "        f()\n"
                + "    except OSError:\n"
                + "        pass\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
        assertEquals("keep", Files.readString(victim));
        assertFalse(Files.exists(tmp.resolve("new.txt")));
    }

    /**
     * In a namespace, a program keeps no capability, also when the evaluation runs as root and the
     * interpreter cannot run as user 65534 (pyenv's under /root): with them it remounted / writable
     * and wrote outside its directory, or entered the host's network namespace.
     */
    @Test
    void aProgramKeepsNoCapabilitiesAndCannotRemountTheFileSystem() {
        assumeTrue(runner().sandbox().hasNoNetwork(), "no namespaces here");
        String program = "import ctypes\n"
                + "caps = [l for l in open('/proc/self/status') if l.startswith('CapEff')][0]\n"
                + "assert int(caps.split()[1], 16) == 0, caps\n"
                + "libc = ctypes.CDLL(None, use_errno=True)\n"
                + "MS_REMOUNT, MS_BIND = 32, 4096\n"
                + "assert libc.mount(None, b'/', None, MS_REMOUNT | MS_BIND, None) != 0\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
    }

    /** A program that takes the permissions of its own directories away leaves nothing behind. */
    @Test
    void aProgramsDirectoryIsDeletedEvenWhenItLockedItsFiles() throws IOException {
        runner();
        Path temp = Path.of(System.getProperty("java.io.tmpdir"));
        List<Path> before = sandboxDirectories(temp);
        String program = "import os\n"
                + "os.makedirs('d/e')\n"
                + "open('d/e/f', 'w').write('x' * 1000)\n"
                + "os.chmod('d/e', 0)\n"
                + "os.chmod('d', 0)\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
        assertEquals(before, sandboxDirectories(temp));
    }

    private static List<Path> sandboxDirectories(Path temp) throws IOException {
        try (java.util.stream.Stream<Path> all = Files.list(temp)) {
            return all.filter(p -> p.getFileName().toString().startsWith("lorapro-sandbox")).sorted().toList();
        }
    }

    /**
     * A completion that exits with status 0 before the tests run fails, as in the reference
     * harness; one that passes but leaves a line unfinished or silences stdout still passes.
     */
    @Test
    void aCompletionThatExitsBeforeTheTestsFails() {
        runner();
        HumanEvalProblem add = new HumanEvalProblem("HumanEval/0", "def add(a, b):\n", "add",
                "def check(candidate):\n    assert candidate(2, 3) == 5\n", "    return a + b\n", 1);
        List<String> completions = List.of("    return a + b\n", "    return a - b\nimport sys\nsys.exit(0)\n",
                "    return 0\nimport os\nos._exit(0)\n", "    return a - b\nraise SystemExit\n",
                "    return a + b\nprint('unfinished', end='')\n", "    return a + b\nimport sys\nsys.stdout = None\n");
        Map<String, Object> metrics = HumanEvalEvaluation.score(Collections.nCopies(completions.size(), add),
                completions, python, tmp);
        assertEquals(3, metrics.get("passed"), metrics.toString());
    }

    /**
     * A read-only mount does not stop connect() to a socket: /run (the session bus, a container
     * daemon) and the home directory are hidden, so no socket there leads outside. Only the
     * interpreter's own installation is mounted back where it lies in the home directory (pyenv).
     */
    @Test
    void aProgramSeesNoSocketDirectoryAndNoHome() {
        assumeTrue(runner().sandbox().hasReadOnlyFileSystem(), "no read-only file system here");
        String home = System.getProperty("user.home");
        String program = "import os, sys\n"
                + "home = r'" + home + "'\n"
                + "exe = os.path.realpath(sys.executable)\n"
                + "seen = os.listdir('/run') + [e for e in (os.listdir(home) if os.path.isdir(home) else [])\n"
                + "                             if not exe.startswith(os.path.join(home, e) + '/')]\n"
                + "sys.exit(1 if seen else 0)\n";
        assertEquals(PythonRunner.Outcome.PASSED, runner().run(program));
    }

    @Test
    void programsHitTheMemoryAndFileSizeLimits() {
        SandboxLimits limits = SandboxLimits.forTimeout(Duration.ofSeconds(20));
        String allocate = "x = bytearray(" + 2 * limits.addressSpaceBytes() + ")\n";
        assertEquals(PythonRunner.Outcome.FAILED, runner().run(allocate));
        String write = "open('big.bin', 'wb').write(b'x' * " + 2 * limits.fileSizeBytes() + ")\n";
        assertEquals(PythonRunner.Outcome.FAILED, runner().run(write));
        String flood = "import sys\nsys.stdout.write('y' * " + 2 * limits.fileSizeBytes() + ")\n";
        assertEquals(PythonRunner.Outcome.FAILED, runner().run(flood));
        assertEquals(PythonRunner.Outcome.PASSED, runner().run("x = bytearray(1 << 20)\nopen('s.bin', 'wb').write(x)\n"));
    }

    @Test
    void aSpinningProgramIsStoppedByTheCpuLimitOrTheTimeout() {
        Optional<PythonRunner> quick = PythonRunner.find(Duration.ofSeconds(2));
        assumeTrue(quick.isPresent(), "python3 is not available");
        long t0 = System.nanoTime();
        PythonRunner.Outcome outcome = quick.get().run("while True:\n    pass\n");
        assertNotEquals(PythonRunner.Outcome.PASSED, outcome);
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(15), "stopped within the limits");
    }

    private static boolean sleep() {
        try {
            Thread.sleep(100);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
