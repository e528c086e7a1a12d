package ai.lorapro.train;

/**
 * Dynamic loss scaling for half-precision activations: the loss is multiplied by the scale before
 * the backward pass and the gradients divided by it after. A step whose gradients overflow is
 * skipped and the scale halved; after {@code growthInterval} good steps in a row it doubles. A
 * disabled scaler keeps the scale at 1.
 */
public final class LossScaler {

    /** PyTorch's {@code GradScaler} defaults. */
    public static final double DEFAULT_INITIAL_SCALE = 65536;
    /** Good steps before the scale grows, as in PyTorch's {@code GradScaler}. */
    public static final int DEFAULT_GROWTH_INTERVAL = 2000;

    private static final double MIN_SCALE = 1.0 / (1 << 24);

    private final boolean enabled;
    private final int growthInterval;
    private double scale;
    private int goodSteps;

    /**
     * @param enabled whether to scale at all
     * @param initialScale the first scale, > 0
     * @param growthInterval good steps before the scale doubles, >= 1
     */
    public LossScaler(boolean enabled, double initialScale, int growthInterval) {
        if (!(initialScale > 0) || Double.isInfinite(initialScale) || growthInterval < 1) {
            throw new IllegalArgumentException("bad loss scaler settings: scale " + initialScale
                    + ", growth interval " + growthInterval);
        }
        this.enabled = enabled;
        this.growthInterval = growthInterval;
        this.scale = enabled ? initialScale : 1;
    }

    /** Whether the scaler is active. */
    public boolean isEnabled() {
        return enabled;
    }

    /** The current scale (1 when disabled). */
    public double scale() {
        return scale;
    }

    /** Good steps since the last change of the scale. */
    public int goodSteps() {
        return goodSteps;
    }

    /** Records a step whose gradients were finite; may double the scale. */
    public void onGoodStep() {
        if (!enabled) {
            return;
        }
        goodSteps++;
        if (goodSteps >= growthInterval) {
            scale *= 2;
            goodSteps = 0;
        }
    }

    /** Records a step whose loss or gradients were not finite; halves the scale. */
    public void onOverflow() {
        if (!enabled) {
            return;
        }
        scale = Math.max(MIN_SCALE, scale / 2);
        goodSteps = 0;
    }

    /** Restores a saved state (from a checkpoint). */
    public void restore(double savedScale, int savedGoodSteps) {
        if (enabled) {
            this.scale = savedScale;
            this.goodSteps = savedGoodSteps;
        }
    }
}
