package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.train.ComputeThreads;

import picocli.CommandLine.Option;

/** {@code --threads N}: PyTorch's compute threads for the command (default: PyTorch's, one per core). */
final class ThreadsOption {

    @Option(names = "--threads", paramLabel = "N",
            description = "Compute threads (default: one per core). On a busy machine fewer can be much faster:"
                    + " idle OpenMP threads spin (docs/training.md).")
    private Integer threads;

    /**
     * Applies the count, if one was given, before the command computes anything.
     *
     * @throws InvalidInputException for a count out of range, naming the option
     */
    void apply() {
        if (threads == null) {
            return;
        }
        if (threads < 1 || threads > ComputeThreads.MAX) {
            throw new InvalidInputException("--threads must be between 1 and " + ComputeThreads.MAX + ", got " + threads);
        }
        ComputeThreads.set(threads);
    }
}
