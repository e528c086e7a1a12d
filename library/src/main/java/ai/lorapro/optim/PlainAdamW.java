package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Plain AdamW (decoupled weight decay, bias-corrected moments, as PyTorch's {@code AdamW}) for the
 * LoRA and full fine-tuning baselines. It is a {@link ResumableOptimizer}, so its state has stable
 * names, exports and imports for checkpoints, and non-finite gradients skip the update on DJL's
 * {@code update} path.
 *
 * <p>Every trainable parameter takes its own AdamW step; nothing is paired. The factors of a
 * registered LoRA layer take the raw LoRA gradients, their moments named {@code
 * <layer>.lora_A.weight.exp_avg} and so on (the layout of {@link LoraProAdamW.Mode#EFFICIENT}),
 * and share the layer's step count. A layer with a frozen factor trains the other one.
 *
 * <pre>{@code
 * try (PlainAdamW adamw = PlainAdamW.builder()
 *         .setLearningRateTracker(Tracker.fixed(1e-3f))
 *         .addLoraLayers(model)   // names the parameters for the saved state
 *         .build()) {
 *     // DefaultTrainingConfig(loss).optOptimizer(adamw), train; closing frees the optimizer state
 * }
 * }</pre>
 */
public final class PlainAdamW extends ResumableOptimizer {

    private final AdamSettings adam;

    private PlainAdamW(Builder builder) {
        super(builder);
        this.adam = builder.adam;
    }

    /** {@inheritDoc} {@code PlainAdamW}. */
    @Override
    public String stateKind() {
        return "PlainAdamW";
    }

    /** A builder with defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * A plain AdamW step on one parameter; {@code grad} is left untouched. The moments and the
     * arithmetic are float32 even for a float16 parameter (see {@link StateStore#stateType}).
     */
    @Override
    void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step) {
        adam.step(this, name, weight, StateStore.stateTypeCopy(grad), learningRate, step);
    }

    /** Each factor's moments, as {@link #stepParameter} keeps them for a factor stepped alone. */
    @Override
    Map<String, Shape> pairState(LoraPair pair) {
        return AdamSettings.factorMoments(shapeOf(pair.getLoraA()), shapeOf(pair.getLoraB()));
    }

    /**
     * Each factor's two moments, one group per factor: the factors step one at a time, so a pair's
     * step count does not say which of them made its moments (a frozen factor makes none, and a
     * factor whose update is skipped for a non-finite gradient makes none while its partner counts
     * the pair's step), but a pair that has stepped has made one factor's moments at least.
     */
    @Override
    List<Set<String>> pairStateGroups(LoraPair pair) {
        return List.of(AdamSettings.moments(AdamSettings.FACTOR_A, null).keySet(),
                AdamSettings.moments(AdamSettings.FACTOR_B, null).keySet());
    }

    @Override
    Set<String> parameterState() {
        return AdamSettings.MOMENTS;
    }

    /** Builds a {@link PlainAdamW}. */
    public static final class Builder extends ResumableOptimizer.Builder<Builder> {

        private AdamSettings adam = AdamSettings.DEFAULTS;

        private Builder() {
            super(Tracker.fixed(1e-3f));
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Also Adam's betas and epsilon. */
        @Override
        public Builder optConfig(OptimizerConfig config) {
            super.optConfig(config);
            adam = AdamSettings.of(config);
            return this;
        }

        /** Sets Adam's betas (default 0.9, 0.999), each in [0, 1). */
        public Builder optBetas(double beta1, double beta2) {
            adam = adam.withBetas(beta1, beta2);
            return this;
        }

        /** Sets Adam's epsilon (default 1e-8). */
        public Builder optEpsilon(double eps) {
            adam = adam.withEpsilon(eps);
            return this;
        }

        /** Validates and builds the optimizer. */
        public PlainAdamW build() {
            validate();
            adam.validate();
            return new PlainAdamW(this);
        }
    }
}
