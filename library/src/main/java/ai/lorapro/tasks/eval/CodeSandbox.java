package ai.lorapro.tasks.eval;

import ai.lorapro.LoraProException;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Confines programs as far as an unprivileged Linux process can with the tools at hand. Every
 * program gets an empty environment, a fresh working directory, its own session (process group),
 * and the {@link SandboxLimits} through {@code prlimit} (or {@code ulimit} in {@code sh}). On top,
 * the strongest of these that actually works here is used, found by running the interpreter
 * through each once ({@link #probe}):
 *
 * <ol>
 *   <li>{@code bwrap} (bubblewrap): the whole file system read-only except the working directory
 *       and a private {@code /tmp} (both in memory and of a fixed size where bwrap has {@code
 *       --size}; the files the caller put in the working directory are bound in read-only);
 *       {@code /run}, {@code /var/run} and the home directory hidden (empty), since a read-only
 *       mount does not stop a {@code connect()} to the sockets there (the session bus, a container
 *       daemon's) and such a socket would reach outside; no network; own PID, IPC and UTS
 *       namespaces; killed with its parent;
 *   <li>{@code unshare}: no network and an own PID namespace (every process of the program dies
 *       with it); the file system stays writable where the user can write;
 *   <li>nothing more: network and file system as the user's.
 * </ol>
 *
 * When the JVM runs as root, the program additionally runs as user and group 65534 ({@code
 * setpriv}) if the interpreter is reachable for that user, since the kernel enforces neither the
 * process limit nor file permissions against root. If it is not, the program runs as root only
 * under bwrap, without capabilities; with unshare alone, or no namespaces, it does not run at all
 * (root without capabilities still owns the host's writable files). In every namespace the
 * program keeps no capability. {@link #describe()} states what was in force;
 * evaluations record it.
 */
public final class CodeSandbox {

    /** The namespaces a program runs in. */
    enum Isolation {
        BWRAP("bubblewrap: read-only file system except the working directory and a private /tmp, /run and the"
                + " home directory hidden, no network, own PID/IPC/UTS namespaces"),
        UNSHARE("unshare: no network, own PID namespace; the file system is not read-only"),
        NONE("no namespaces: the program sees the network and can write wherever the user can");

        private final String description;

        Isolation(String description) {
            this.description = description;
        }
    }

    /** The unprivileged user and group the program runs as when the JVM is root. */
    static final int NOBODY = 65534;

    private final Isolation isolation;
    private final boolean dropToNobody;
    /*
     * The tools by absolute path, looked up once on the JVM's PATH: the sandbox's commands run with an
     * empty environment, where each tool would look up the next in glibc's default /bin:/usr/bin
     * only, and miss a bwrap in /usr/local/bin (falling back to a weaker isolation without a word).
     */
    private static final String SETSID = tool("setsid");
    private static final String SETPRIV = tool("setpriv");
    private static final String BWRAP = tool("bwrap");
    private static final String UNSHARE = tool("unshare");
    private static final String PRLIMIT = tool("prlimit");
    private static final String SH = tool("sh");

    private final boolean prlimit;
    private final boolean root;
    private final SandboxLimits limits;
    /**
     * Whether bwrap's writable in-memory file systems (the working directory, {@code /tmp}, {@code
     * /dev/shm} and the hidden directories) are given a size ({@code --size}, bubblewrap 0.7 and
     * later) and {@code /dev} is made read-only: without, a program fills the host's memory (or,
     * through its working directory, disk) past its address-space limit, as fast as it can write.
     */
    private final boolean boundedTmpfs;
    /** What bubblewrap hides under an empty tmpfs: where sockets that lead outside live. */
    private final List<String> hidden;
    /** The interpreter's installation where it lies in a hidden directory, mounted back read-only. */
    private final List<String> exposed;

    private CodeSandbox(Isolation isolation, boolean dropToNobody, boolean prlimit, boolean root,
            SandboxLimits limits, boolean boundedTmpfs, List<String> hidden, List<String> exposed) {
        this.boundedTmpfs = boundedTmpfs;
        this.isolation = isolation;
        this.dropToNobody = dropToNobody;
        this.prlimit = prlimit;
        this.root = root;
        this.limits = limits;
        this.hidden = hidden;
        this.exposed = exposed;
    }

    /** A candidate of {@link #probe}, hiding this machine's socket and home directories. */
    private static CodeSandbox candidate(Isolation isolation, boolean dropToNobody, boolean prlimit, boolean root,
            SandboxLimits limits, String interpreter, boolean boundedTmpfs) {
        List<String> hidden = hiddenDirectories();
        return new CodeSandbox(isolation, dropToNobody, prlimit, root, limits, boundedTmpfs, hidden,
                installationIn(interpreter, hidden));
    }

    /**
     * This sandbox as a bubblewrap without {@code --size} runs it: the working directory is the
     * host's, bound in writable, and no in-memory file system has a size. For tests of what a
     * program may do to its own directory there.
     */
    CodeSandbox withoutSizes() {
        return new CodeSandbox(isolation, dropToNobody, prlimit, root, limits, false, hidden, exposed);
    }

    /** /run, /var/run where it is a directory of its own, and the home directory (never /). */
    private static List<String> hiddenDirectories() {
        List<String> dirs = new ArrayList<>();
        for (String dir : List.of("/run", "/var/run", System.getProperty("user.home", ""))) {
            Path path = Path.of(dir.isEmpty() ? "/" : dir);
            if (path.isAbsolute() && path.getParent() != null
                    && Files.isDirectory(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)
                    && !dirs.contains(path.toString())) {
                dirs.add(path.toString());
            }
        }
        return List.copyOf(dirs);
    }

    /**
     * The directory above the interpreter's {@code bin/} (its installation, with the standard
     * library) when it lies in one of {@code hidden} (a Python under the home directory), else none.
     */
    private static List<String> installationIn(String interpreter, List<String> hidden) {
        try {
            Path real = Path.of(interpreter).toRealPath();
            Path installation = real.getParent() == null || real.getParent().getParent() == null ? real
                    : real.getParent().getParent();
            for (String dir : hidden) {
                if (installation.startsWith(dir) && !installation.equals(Path.of(dir))) {
                    return List.of(installation.toString());
                }
            }
            return List.of();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }

    /**
     * Finds the strongest confinement under which {@code interpreter -c "pass"} runs here.
     *
     * @param interpreter the interpreter's absolute path (it must run with an empty environment)
     * @param limits the resource limits
     * @return the sandbox, or empty when the interpreter does not run even without namespaces
     */
    public static Optional<CodeSandbox> probe(String interpreter, SandboxLimits limits) {
        boolean root = isRoot();
        boolean prlimit = runs(List.of(PRLIMIT, "--cpu=5", "--", "true"));
        List<CodeSandbox> candidates = new ArrayList<>();
        for (Isolation isolation : Isolation.values()) {
            // bwrap with sized in-memory file systems first; an older bwrap without --size after
            for (boolean bounded : isolation == Isolation.BWRAP ? List.of(true, false) : List.of(false)) {
                if (root) {
                    candidates.add(candidate(isolation, true, prlimit, true, limits, interpreter, bounded));
                }
                // root that stays root only where the file system is read-only: without capabilities it still
                // owns the host's files (/etc/ld.so.preload, cron, /proc/sys) wherever they are writable
                if (!root || isolation == Isolation.BWRAP) {
                    candidates.add(candidate(isolation, false, prlimit, root, limits, interpreter, bounded));
                }
            }
        }
        for (CodeSandbox candidate : candidates) {
            Path dir = null;
            try {
                dir = workDirectory();
                // a program file in the directory, run by its path, as evaluations run theirs
                Path program = Files.writeString(dir.resolve("probe.py"), "pass\n");
                program.toFile().setReadable(true, false);
                if (runs(candidate.command(dir, List.of(interpreter, "-I", program.toString())), dir)) {
                    return Optional.of(candidate);
                }
            } catch (IOException e) {
                return Optional.empty();
            } finally {
                deleteQuietly(dir);
            }
        }
        return Optional.empty();
    }

    /**
     * A fresh working directory that the sandboxed user can enter and read (mode 755).
     *
     * @throws IOException if it cannot be created
     */
    public static Path workDirectory() throws IOException {
        Path dir = Files.createTempDirectory("lorapro-sandbox");
        dir.toFile().setReadable(true, false);
        dir.toFile().setExecutable(true, false);
        return dir;
    }

    /**
     * The command line running {@code program} confined, in {@code workDir}. Start it with an
     * empty environment ({@link ProcessBuilder#environment()} cleared) and {@code workDir} as the
     * working directory. Put the program's files in {@code workDir} first: where the working
     * directory is in memory ({@code bwrap --size}), the regular files it holds now are bound into
     * it read-only, and what is added later (or a link) is not seen by the program.
     */
    public List<String> command(Path workDir, List<String> program) {
        List<String> cmd = new ArrayList<>(List.of(SETSID));
        if (dropToNobody) {
            cmd.addAll(List.of(SETPRIV, "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--"));
        }
        String dir = workDir.toAbsolutePath().toString();
        // root that stays root keeps every capability in the namespaces unless they are dropped: with
        // them a program remounts / writable or enters the host's network namespace (setns)
        boolean asRoot = root && !dropToNobody;
        switch (isolation) {
            case BWRAP -> {
                cmd.addAll(List.of(BWRAP, "--ro-bind", "/", "/", "--dev", "/dev"));
                if (boundedTmpfs) {
                    cmd.addAll(List.of("--size", tmpfsSize(), "--tmpfs", "/dev/shm", "--remount-ro", "/dev"));
                }
                cmd.addAll(List.of("--proc", "/proc"));
                for (String tmpfs : concat("/tmp", hidden)) {
                    if (boundedTmpfs) {
                        cmd.addAll(List.of("--size", tmpfsSize()));
                    }
                    cmd.addAll(List.of("--tmpfs", tmpfs));
                }
                exposed.forEach(keep -> cmd.addAll(List.of("--ro-bind", keep, keep)));
                if (boundedTmpfs) {
                    // the working directory in memory too, of the same size, so that the program's
                    // files fill it and not the host's disk; what the caller put there is bound in
                    // read-only (a source is read from the host, not from the new mounts)
                    cmd.addAll(List.of("--size", tmpfsSize(), "--tmpfs", dir));
                    for (Path entry : callerEntries(workDir)) {
                        cmd.addAll(List.of("--ro-bind", entry.toString(), entry.toString()));
                    }
                } else {
                    cmd.addAll(List.of("--bind", dir, dir));
                }
                cmd.addAll(List.of("--chdir", dir, "--unshare-all", "--die-with-parent", "--new-session"));
                if (asRoot) {
                    cmd.addAll(List.of("--cap-drop", "ALL"));
                }
                cmd.add("--");
            }
            case UNSHARE -> {
                // never as root (probe offers it only to a user, or to root turned user 65534); no
                // capabilities, not even those of the user namespace's root: nothing lets it out again
                cmd.addAll(List.of(UNSHARE, "--user", "--map-root-user", "--net", "--pid", "--fork", "--kill-child",
                        "--", SETPRIV, "--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all",
                        "--ambient-caps", "-all", "--"));
            }
            case NONE -> { }
        }
        if (prlimit) {
            cmd.add(PRLIMIT);
            cmd.addAll(limits.prlimitOptions());
            cmd.add("--");
        } else {
            cmd.addAll(List.of(SH, "-c", limits.ulimitScript(), "sh"));
        }
        cmd.addAll(program);
        return cmd;
    }

    /**
     * The regular files {@code workDir} holds when the command is made (the program and its output
     * file), by absolute path; links and directories are not bound.
     */
    private static List<Path> callerEntries(Path workDir) {
        try (java.util.stream.Stream<Path> entries = Files.list(workDir.toAbsolutePath())) {
            return entries.filter(entry -> Files.isRegularFile(entry, java.nio.file.LinkOption.NOFOLLOW_LINKS))
                    .sorted().toList();
        } catch (IOException e) {
            throw new LoraProException("cannot list the sandbox directory " + workDir + ": " + e.getMessage(), e);
        }
    }

    /** The size in bytes of each of bwrap's writable in-memory file systems: four times the file-size limit. */
    private long tmpfsBytes() {
        return limits.fileSizeBytes() > Long.MAX_VALUE / 4 ? Long.MAX_VALUE : limits.fileSizeBytes() * 4;
    }

    /** {@link #tmpfsBytes} as bwrap's {@code --size} takes it. */
    private String tmpfsSize() {
        return Long.toString(tmpfsBytes());
    }

    private static List<String> concat(String first, List<String> rest) {
        List<String> all = new ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    /** What was in force, for the evaluation's output. */
    public String describe() {
        boolean processLimitEnforced = !root || dropToNobody;
        return isolation.description + (isolation != Isolation.BWRAP ? ""
                : boundedTmpfs ? " (in-memory working directory, /tmp, /dev/shm and hidden directories of "
                        + (tmpfsBytes() >> 20) + " MiB each)"
                        : " (working directory on the host's disk and in-memory /tmp unbounded: bwrap without --size)")
                + "; "
                + (dropToNobody ? "runs as user " + NOBODY + "; "
                        : root ? "runs as root" + (isolation == Isolation.NONE ? "" : " without capabilities") + "; "
                        : "runs as the user; ")
                + "empty environment, fresh working directory, own session; limits (" + (prlimit ? "prlimit" : "ulimit")
                + "): " + limits.describe() + (processLimitEnforced ? "" : " (process limit not enforced for root)");
    }

    /** Whether network access is cut off. */
    public boolean hasNoNetwork() {
        return isolation != Isolation.NONE;
    }

    /** Whether every process of a program dies with it (own PID namespace or no new processes). */
    public boolean killsAllProcesses() {
        return isolation != Isolation.NONE || !root || dropToNobody;
    }

    /** Whether the file system outside the working directory and /tmp is read-only. */
    public boolean hasReadOnlyFileSystem() {
        return isolation == Isolation.BWRAP;
    }

    /**
     * Whether the working directory, /tmp, /dev/shm and the hidden directories are in-memory file
     * systems of a fixed size (bwrap 0.7 and later). Otherwise the working directory is a directory
     * of the host's {@code java.io.tmpdir}, which the program can fill with files of up to the
     * file-size limit each until its time is up.
     */
    boolean boundsInMemoryFileSystems() {
        return isolation == Isolation.BWRAP && boundedTmpfs;
    }

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) {
                    return line.split("\\s+")[1].equals("0");
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux: fall through
        }
        return "root".equals(System.getProperty("user.name"));
    }

    /** {@code name} on the JVM's PATH ({@link #onPath}). */
    private static String tool(String name) {
        return onPath(name, System.getenv("PATH"), CodeSandbox::isHiddenInSandbox);
    }

    /**
     * The real path of the first executable file named {@code tool} in the absolute directories of
     * {@code path} (a PATH value, may be null) that {@code hiddenInSandbox} does not reject, else
     * {@code tool} itself. The real path, since the
     * tools run inside the sandbox and as user 65534 too: a nix profile's link under the home
     * directory, which the sandbox hides, leads into {@code /nix/store}, which it shows; a tool whose
     * real file lies under the home directory, {@code /run} or {@code /tmp} ({@link
     * #isHiddenInSandbox}) is passed over.
     */
    static String onPath(String tool, String path, Predicate<Path> hiddenInSandbox) {
        if (path != null) {
            for (String entry : path.split(File.pathSeparator)) {
                if (entry.isEmpty() || !Path.of(entry).isAbsolute()) {
                    continue; // "." and other relative entries: never the working directory's file
                }
                Path candidate = Path.of(entry, tool);
                if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                    try {
                        Path real = candidate.toRealPath();
                        if (!hiddenInSandbox.test(real)) {
                            return real.toString();
                        }
                    } catch (IOException e) {
                        // gone meanwhile: look further
                    }
                }
            }
        }
        return tool;
    }

    /** Whether the sandbox hides or replaces what lies at {@code real}: the home directory, /run, /tmp. */
    static boolean isHiddenInSandbox(Path real) {
        String home = System.getProperty("user.home");
        return (home != null && !home.isEmpty() && !home.equals("/") && real.startsWith(Path.of(home)))
                || real.startsWith("/run") || real.startsWith("/var/run") || real.startsWith("/tmp");
    }

    private static boolean runs(List<String> command) {
        return runs(command, null);
    }

    private static boolean runs(List<String> command, Path dir) {
        try {
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD);
            builder.environment().clear();
            if (dir != null) {
                builder.directory(dir.toFile());
            }
            Process p = builder.start();
            p.getOutputStream().close();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir != null) {
            try {
                ai.lorapro.io.AtomicFiles.deleteRecursively(dir);
            } catch (IOException e) {
                // a leftover empty temporary directory changes nothing
            }
        }
    }
}
