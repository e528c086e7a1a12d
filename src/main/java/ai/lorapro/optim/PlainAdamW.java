package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.training.tracker.Tracker;

/**
 * Plain AdamW (decoupled weight decay, bias-corrected moments, as PyTorch's {@code AdamW}) for the
 * LoRA and full fine-tuning baselines. It shares the LoRA-Pro optimizers' glue, so its state has
 * stable names, exports and imports for checkpoints, and non-finite gradients skip the update.
 *
 * <p>Registered LoRA pairs are not adjusted: A and B each take their own AdamW step with the raw
 * LoRA gradients, their moments named {@code <pair>.lora_A.weight.exp_avg} and so on (the layout of
 * {@link LoraProAdamW.Mode#EFFICIENT}). Every other trainable parameter takes the same step.
 *
 * <pre>{@code
 * Optimizer adamw = PlainAdamW.builder()
 *         .setLearningRateTracker(Tracker.fixed(1e-3f))
 *         .addLoraLayers(model)   // names the parameters for the saved state
 *         .build();
 * }</pre>
 */
public final class PlainAdamW extends LoraProOptimizer {

    private final double beta1;
    private final double beta2;
    private final double eps;

    private PlainAdamW(Builder builder) {
        super(builder);
        this.beta1 = builder.beta1;
        this.beta2 = builder.beta2;
        this.eps = builder.eps;
    }

    /** A builder with defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    void stepPair(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate, int step) {
        stepParameter(pair.getName() + ".lora_A.weight", a, gradA, learningRate, step);
        stepParameter(pair.getName() + ".lora_B.weight", b, gradB, learningRate, step);
    }

    @Override
    void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step) {
        NDArray scratch = grad.duplicate();
        // the moments live with the weight: the gradient may belong to a short-lived manager
        NDArray u = AdamMoments.direction(
                state(name + ".exp_avg", weight), state(name + ".exp_avg_sq", weight), scratch, step, beta1, beta2, eps);
        AdamMoments.apply(weight, u, learningRate, getWeightDecay());
    }

    /** Builds a {@link PlainAdamW}. */
    public static final class Builder extends LoraProOptimizer.Builder<Builder> {

        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;

        private Builder() {
            super(Tracker.fixed(1e-3f));
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Sets Adam's betas (default 0.9, 0.999), each in [0, 1). */
        public Builder optBetas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /** Sets Adam's epsilon (default 1e-8). */
        public Builder optEpsilon(double eps) {
            this.eps = eps;
            return this;
        }

        /** Validates and builds the optimizer. */
        public PlainAdamW build() {
            validate();
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("Adam betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
            }
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("Adam epsilon must be finite and > 0, got " + eps);
            }
            return new PlainAdamW(this);
        }
    }
}
