package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

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
public final class PlainAdamW extends AdamOptimizer {

    private PlainAdamW(Builder builder) {
        super(builder);
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

    /** A and B step independently, so a pair with a frozen factor trains the other. */
    @Override
    boolean stepsFactorsAlone() {
        return true;
    }

    /** Builds a {@link PlainAdamW}. */
    public static final class Builder extends AdamBuilder<Builder> {

        private Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /** Validates and builds the optimizer. */
        public PlainAdamW build() {
            validate();
            return new PlainAdamW(this);
        }
    }
}
