package ai.lorapro.train;

/**
 * Runs beside the {@link TrainingEngine}'s loop, in the spirit of DJL's {@code TrainingListener}:
 * metrics, progress, evaluation and checkpoints each listen to the steps instead of living in
 * the loop.
 */
interface StepListener {

    /** After each optimizer step, in registration order. */
    default void afterStep(StepRecord step) {}

    /**
     * Once after the last step of a run (also when no step ran), in registration order.
     *
     * @param globalStep the optimizer steps completed
     */
    default void afterRun(long globalStep) {}

    /**
     * What one optimizer step did.
     *
     * @param step the global step just completed (1-based)
     * @param epoch the epochs completed with the step, fractional (as Hugging Face's Trainer logs it)
     * @param loss the step's mean loss
     * @param learningRate the rate the step used
     * @param gradientNorm the gradient norm before clipping
     * @param tokensPerSecond the step's throughput
     * @param seconds the step's wall time
     * @param optimizerSeconds the part of it in {@code applyGradients}: unscaling, clipping, the
     *     optimizer's update, the copy to replicas and zeroing the gradients
     * @param last whether it is the last step of this run (the run's end does the rest)
     */
    record StepRecord(long step, double epoch, double loss, float learningRate, double gradientNorm,
            double tokensPerSecond, double seconds, double optimizerSeconds, boolean last) {}
}
