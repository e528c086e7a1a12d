package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.optim.OptimizerState;
import ai.lorapro.nn.Finiteness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Sanity checks on what a checkpoint restores, before any of it is used: the step lies within the
 * run, every optimizer step count lies within the global step, and every optimizer state tensor
 * is finite (NaN moments would silently turn every later update into NaN).
 */
public final class ResumeLimits {

    private ResumeLimits() {}

    /**
     * Refuses a global step outside {@code [0, totalSteps]}, and the last step itself: a run
     * resumed there would train nothing.
     *
     * @throws CheckpointFormatException naming the checkpoint and both numbers
     * @throws InvalidInputException at the last step, saying how to go on
     */
    public static void requireStepWithinRun(Path checkpoint, long globalStep, long totalSteps) {
        if (globalStep < 0 || globalStep > totalSteps) {
            throw new CheckpointFormatException("checkpoint " + checkpoint + ": checkpoint is at step " + globalStep
                    + ", outside this run's 0.." + totalSteps + " steps");
        }
        if (globalStep == totalSteps) {
            throw new InvalidInputException("checkpoint " + checkpoint + " is at step " + globalStep + ", the last of"
                    + " this run: nothing is left to train (raise max_steps or epochs and allow total_steps to"
                    + " change: --max-steps or --epochs with --allow-resume-change total_steps; to evaluate it, pass"
                    + " its adapter to eval)");
        }
    }

    /**
     * Refuses a checkpoint file that is not there.
     *
     * @throws CheckpointFormatException naming the file
     */
    public static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new CheckpointFormatException(file + ": checkpoint file missing");
        }
    }

    /**
     * Refuses optimizer step counts that are negative or beyond the global step; DJL's update
     * counters ({@link OptimizerState#isUpdateCounter}), which start at the optimizer's {@code
     * beginNumUpdate}, need only be non-negative.
     *
     * @throws CheckpointFormatException naming the file and the parameter
     */
    public static void requireOptimizerSteps(Path file, Map<String, Integer> steps, long globalStep) {
        for (Map.Entry<String, Integer> e : steps.entrySet()) {
            long bound = OptimizerState.isUpdateCounter(e.getKey()) ? Integer.MAX_VALUE : globalStep;
            if (e.getValue() < 0 || e.getValue() > bound) {
                throw new CheckpointFormatException(file + ": step count " + e.getValue() + " of '" + e.getKey()
                        + "' is outside 0.." + bound);
            }
        }
    }

    /**
     * {@code tensor} itself when every value is finite.
     *
     * @throws CheckpointFormatException naming the file and tensor otherwise
     */
    public static NDArray requireFinite(Path file, String name, NDArray tensor) {
        if (!Finiteness.isAllFinite(tensor)) {
            throw new CheckpointFormatException(file + ": tensor '" + name + "' holds NaN or infinity");
        }
        return tensor;
    }
}
