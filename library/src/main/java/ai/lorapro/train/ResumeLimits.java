package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.nn.Finiteness;

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
     * Refuses optimizer step counts that are negative or beyond the global step.
     *
     * @throws CheckpointFormatException naming the file and the parameter
     */
    public static void requireOptimizerSteps(Path file, Map<String, Integer> steps, long globalStep) {
        for (Map.Entry<String, Integer> e : steps.entrySet()) {
            if (e.getValue() < 0 || e.getValue() > globalStep) {
                throw new CheckpointFormatException(file + ": step count " + e.getValue() + " of '" + e.getKey()
                        + "' is outside 0.." + globalStep);
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
