package ai.lorapro.train;

import static ai.lorapro.InvalidFieldException.require;

/**
 * The learning-rate schedule of a run: linear warm-up to the peak, then cosine decay to the floor
 * ({@link WarmupCosineSchedule}), validated once here.
 *
 * <p>The constructor throws {@link ai.lorapro.InvalidFieldException} naming the first invalid field.
 *
 * @param lr the peak learning rate, finite and > 0
 * @param minLr the learning rate at the end of the cosine decay, in [0, lr]
 * @param warmupRatio the warm-up length as a fraction of the total steps, in [0, 1]
 */
public record ScheduleConfig(float lr, float minLr, double warmupRatio) {

    /** Peak 2e-5, floor 0, 3% warm-up. */
    public static final ScheduleConfig DEFAULTS = new ScheduleConfig(2e-5f, 0f, 0.03);

    /** Validates every field. */
    public ScheduleConfig {
        require(lr > 0 && Float.isFinite(lr), "lr", "must be > 0, got " + lr);
        require(minLr >= 0 && minLr <= lr, "min_lr", "must be in [0, lr], got " + minLr);
        require(warmupRatio >= 0 && warmupRatio <= 1, "warmup_ratio", "must be in [0, 1], got " + warmupRatio);
    }

    /** The schedule over a run of {@code totalSteps} optimizer steps. */
    public WarmupCosineSchedule over(int totalSteps) {
        return WarmupCosineSchedule.builder()
                .setPeakLr(lr)
                .optMinLr(minLr)
                .setTotalSteps(totalSteps)
                .optWarmupRatio(warmupRatio)
                .build();
    }
}
