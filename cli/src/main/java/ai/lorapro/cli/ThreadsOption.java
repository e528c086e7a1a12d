package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.train.ComputeThreads;

import picocli.CommandLine.Option;

/** {@code --threads N}: PyTorch's compute threads for the command (default: PyTorch's, one per core). */
final class ThreadsOption {

    private Integer threads;

    @Option(names = "--threads", paramLabel = "N",
            description = "Compute threads (default: one per core). On a busy machine fewer can be much faster:"
                    + " idle OpenMP threads spin (docs/training.md).")
    void setThreads(int n) {
        if (n < 1 || n > ComputeThreads.MAX) {
            throw new InvalidInputException("--threads must be between 1 and " + ComputeThreads.MAX + ", got " + n);
        }
        this.threads = n;
    }

    /** Applies the count, if one was given, before the command computes anything. */
    void apply() {
        if (threads != null) {
            ComputeThreads.set(threads);
        }
    }
}
