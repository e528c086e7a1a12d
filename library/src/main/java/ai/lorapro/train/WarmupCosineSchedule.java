package ai.lorapro.train;

import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidInputException;

/**
 * Cosine learning-rate decay after a linear warm-up, as Hugging Face's
 * {@code get_cosine_with_min_lr_schedule_with_warmup}.
 *
 * <p>With {@code s} the number of updates already done, {@code W} the warm-up steps and {@code T}
 * the total steps: {@code lr(s) = peak * s / W} for {@code s < W}, then {@code lr(s) = min + (peak
 * - min) * (1 + cos(pi * (s - W) / (T - W))) / 2}, and {@code min} once {@code s >= T}.
 *
 * <p>DJL optimizers count updates from 1, so {@link #getNewValue(int)} evaluates the schedule at
 * {@code numUpdate - 1}: the first update uses {@code lr(0)}, exactly as a PyTorch scheduler
 * stepped after each optimizer step does.
 */
public final class WarmupCosineSchedule implements Tracker {

    private final float peakLr;
    private final float minLr;
    private final int totalSteps;
    private final int warmupSteps;

    private WarmupCosineSchedule(Builder b) {
        this.peakLr = b.peakLr;
        this.minLr = b.minLr;
        this.totalSteps = b.totalSteps;
        this.warmupSteps = b.warmupSteps >= 0
                ? b.warmupSteps
                : (int) Math.ceil(b.totalSteps * b.warmupRatio);
    }

    /** A builder; the peak learning rate and the total steps are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The learning rate for the {@code numUpdate}-th update, counted from 1 as DJL optimizers do.
     *
     * @param numUpdate the 1-based number of the update about to be applied
     * @return the learning rate after {@code numUpdate - 1} completed updates
     */
    @Override
    public float getNewValue(int numUpdate) {
        return valueAfter(Math.max(0, numUpdate - 1));
    }

    /**
     * The learning rate after {@code completedSteps} optimizer updates.
     *
     * @param completedSteps the number of updates already applied (0 for the first update)
     * @return the learning rate of the schedule at that step
     */
    public float valueAfter(long completedSteps) {
        if (completedSteps < warmupSteps) {
            return (float) ((double) peakLr * completedSteps / warmupSteps);
        }
        if (completedSteps >= totalSteps) {
            return minLr;
        }
        double progress = (double) (completedSteps - warmupSteps) / (totalSteps - warmupSteps);
        return (float) (minLr + (peakLr - minLr) * 0.5 * (1.0 + Math.cos(Math.PI * progress)));
    }

    /** The learning rate at and after the last step. */
    public float getMinLr() {
        return minLr;
    }

    /** The total number of optimizer updates the schedule spans. */
    public int getTotalSteps() {
        return totalSteps;
    }

    /** The number of warm-up updates: {@code ceil(totalSteps * warmupRatio)} unless set. */
    public int getWarmupSteps() {
        return warmupSteps;
    }

    /** Builds a {@link WarmupCosineSchedule}. */
    public static final class Builder {

        private float peakLr = Float.NaN;
        private float minLr;
        private int totalSteps = -1;
        private double warmupRatio = 0.03;
        private int warmupSteps = -1;

        private Builder() {}

        /** The learning rate at the end of the warm-up (required, positive). */
        public Builder setPeakLr(float peakLr) {
            this.peakLr = peakLr;
            return this;
        }

        /** The learning rate the cosine decays to; 0 by default. */
        public Builder optMinLr(float minLr) {
            this.minLr = minLr;
            return this;
        }

        /** The total number of optimizer updates (required, positive). */
        public Builder setTotalSteps(int totalSteps) {
            this.totalSteps = totalSteps;
            return this;
        }

        /** The warm-up length as a fraction of the total steps, rounded up; 0.03 by default. */
        public Builder optWarmupRatio(double warmupRatio) {
            this.warmupRatio = warmupRatio;
            return this;
        }

        /** An explicit number of warm-up steps, overriding the ratio. */
        public Builder optWarmupSteps(int warmupSteps) {
            this.warmupSteps = warmupSteps;
            return this;
        }

        /**
         * Builds the schedule.
         *
         * @throws InvalidInputException naming the first invalid setting
         */
        public WarmupCosineSchedule build() {
            if (!(peakLr > 0) || Float.isInfinite(peakLr)) {
                throw new InvalidInputException("lr must be a positive number, got " + peakLr);
            }
            if (!(minLr >= 0) || minLr > peakLr) {
                throw new InvalidInputException(
                        "min lr must be in [0, lr=" + peakLr + "], got " + minLr);
            }
            if (totalSteps <= 0) {
                throw new InvalidInputException("total steps must be positive, got " + totalSteps);
            }
            if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
                throw new InvalidInputException(
                        "warmup ratio must be in [0, 1], got " + warmupRatio);
            }
            if (warmupSteps > totalSteps) {
                throw new InvalidInputException("warmup steps " + warmupSteps
                        + " exceed total steps " + totalSteps);
            }
            return new WarmupCosineSchedule(this);
        }
    }
}
