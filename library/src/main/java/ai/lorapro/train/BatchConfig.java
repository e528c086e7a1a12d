package ai.lorapro.train;

import static ai.lorapro.InvalidFieldException.require;

import ai.lorapro.InvalidFieldException;

/**
 * How a run batches its examples and how long it lasts, validated once here.
 *
 * <p>The constructor throws {@link ai.lorapro.InvalidFieldException} naming the first invalid field.
 *
 * @param globalBatch examples per optimizer step, >= 1
 * @param microBatch examples per forward/backward pass, >= 1, dividing the global batch
 * @param maxSeqLength the most tokens the encoders keep of a text (the command line's and the tasks';
 *     a seq2seq example holds a source this long and its target), >= 2; the memory estimate assumes
 *     it, and the engine takes its examples as they are given, without truncating them
 * @param epochs passes over the data, >= 1 (ignored when {@code maxSteps} is set)
 * @param maxSteps a fixed number of optimizer steps, or -1 to run for the epochs
 */
public record BatchConfig(int globalBatch, int microBatch, int maxSeqLength, int epochs, int maxSteps) {

    /** Global batch 32 in micro-batches of 4, 512 tokens, one epoch. */
    public static final BatchConfig DEFAULTS = new BatchConfig(32, 4, 512, 1, -1);

    /** Validates every field. */
    public BatchConfig {
        require(globalBatch >= 1, "global_batch", "must be >= 1, got " + globalBatch);
        require(microBatch >= 1, "micro_batch", "must be >= 1, got " + microBatch);
        require(globalBatch % microBatch == 0, "micro_batch",
                microBatch + " must divide global_batch " + globalBatch);
        require(maxSeqLength >= 2, "max_seq_length", "must be >= 2, got " + maxSeqLength);
        require(epochs >= 1, "epochs", "must be >= 1, got " + epochs);
        require(maxSteps == -1 || maxSteps >= 1, "max_steps", "must be >= 1 (or -1 for epochs), got " + maxSteps);
    }

    /**
     * Checks that the global batch splits into micro-batches on each of {@code devices} devices
     * (data parallel: a pass takes micro batch x devices examples).
     *
     * @throws ai.lorapro.InvalidFieldException naming {@code global_batch} when it does not
     */
    public void requireSplitsOver(int devices) {
        long perPass = (long) microBatch * devices;
        require(devices >= 1 && globalBatch % perPass == 0, "global_batch",
                globalBatch + " must be a multiple of micro_batch " + microBatch + " x " + devices + " devices (= "
                        + perPass + ")");
    }

    /** Micro-batches accumulated per optimizer step: global batch / micro batch. */
    public int gradientAccumulation() {
        return globalBatch / microBatch;
    }

    /**
     * The number of optimizer steps the run takes: {@code maxSteps} when set, else the epochs times
     * the steps per epoch (the last global batch of an epoch may be short).
     *
     * @param datasetSize the number of training examples
     * @return the total optimizer steps
     * @throws InvalidFieldException naming {@code epochs} when they come to more steps than a run
     *     counts (2^31 - 1): the run would do fewer, and spread its schedule over the wrong total
     */
    public int totalSteps(int datasetSize) {
        if (maxSteps > 0) {
            return maxSteps;
        }
        long perEpoch = (datasetSize + (long) globalBatch - 1) / globalBatch;
        long steps = perEpoch * epochs; // at most 2^31 x 2^31: a long holds it
        if (steps > Integer.MAX_VALUE) {
            throw new InvalidFieldException("epochs", epochs + " epochs of " + perEpoch + " steps are " + steps
                    + " steps, more than a run counts (" + Integer.MAX_VALUE + "); give fewer epochs or max_steps");
        }
        return (int) steps;
    }
}
