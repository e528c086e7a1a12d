package ai.lorapro.tasks.eval;

import java.time.Duration;
import java.util.List;

/**
 * The resource limits (POSIX rlimits) put on each sandboxed program.
 *
 * @param cpuSeconds CPU time ({@code RLIMIT_CPU}); the program gets {@code SIGXCPU}, then {@code SIGKILL}
 * @param addressSpaceBytes virtual memory ({@code RLIMIT_AS}); allocations beyond it fail
 * @param fileSizeBytes the largest file the program may write, its output included ({@code RLIMIT_FSIZE})
 * @param processes processes and threads of the program's user ({@code RLIMIT_NPROC}); 1 means the
 *     program cannot start any. The kernel does not enforce it for root.
 * @param openFiles open file descriptors ({@code RLIMIT_NOFILE})
 */
public record SandboxLimits(long cpuSeconds, long addressSpaceBytes, long fileSizeBytes, long processes,
        long openFiles) {

    /** Checks every limit is positive. */
    public SandboxLimits {
        if (cpuSeconds < 1 || addressSpaceBytes < 1 || fileSizeBytes < 1 || processes < 1 || openFiles < 1) {
            throw new IllegalArgumentException("sandbox limits must be positive");
        }
    }

    /**
     * The limits for HumanEval programs: CPU time of the wall-clock timeout (rounded up), 1 GiB of
     * address space, 16 MiB files, no new processes, 64 open files.
     */
    public static SandboxLimits forTimeout(Duration timeout) {
        long seconds = Math.max(1, (timeout.toMillis() + 999) / 1000);
        return new SandboxLimits(seconds, 1L << 30, 16L << 20, 1, 64);
    }

    /** The limits as {@code prlimit} options (soft = hard). */
    List<String> prlimitOptions() {
        return List.of("--cpu=" + cpuSeconds, "--as=" + addressSpaceBytes, "--fsize=" + fileSizeBytes,
                "--nproc=" + processes, "--nofile=" + openFiles, "--core=0");
    }

    /**
     * The limits as a POSIX {@code sh} prefix ({@code ulimit} takes KiB for -v and 512-byte blocks
     * for -f); the process count uses bash's {@code -u} or dash's {@code -p}, whichever the shell has.
     */
    String ulimitScript() {
        return "ulimit -t " + cpuSeconds + " && ulimit -v " + (addressSpaceBytes / 1024) + " && ulimit -f "
                + (fileSizeBytes / 512) + " && ulimit -n " + openFiles + " && ulimit -c 0 && { ulimit -u " + processes
                + " 2>/dev/null || ulimit -p " + processes + "; } && exec \"$@\"";
    }

    /** A one-line summary for the evaluation's output. */
    public String describe() {
        return "cpu " + cpuSeconds + " s, address space " + (addressSpaceBytes >> 20) + " MiB, file size "
                + (fileSizeBytes >> 20) + " MiB, processes " + processes + ", open files " + openFiles;
    }
}
