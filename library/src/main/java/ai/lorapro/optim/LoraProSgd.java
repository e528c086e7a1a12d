package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;

import java.util.Map;
import java.util.Set;

/**
 * LoRA-Pro with SGD (Algorithm 1 of the paper): every LoRA pair steps along its adjusted
 * gradients, A ← A - lr (gA* + wd A) and B ← B - lr (gB* + wd B), with A and B taken before the
 * step. Every other trainable parameter takes a plain SGD step with the same decoupled weight
 * decay.
 *
 * <pre>{@code
 * try (LoraProSgd sgd = LoraProSgd.builder()
 *         .setLearningRateTracker(Tracker.fixed(0.01f))
 *         .addLoraLayers(model.getBlock())
 *         .build()) {
 *     // DefaultTrainingConfig(loss).optOptimizer(sgd), train; closing frees the optimizer state
 * }
 * }</pre>
 */
public final class LoraProSgd extends LoraProOptimizer {

    private LoraProSgd(Builder builder) {
        super(builder);
    }

    /** {@inheritDoc} {@code LoraProSgd}. */
    @Override
    public String stateKind() {
        return "LoraProSgd";
    }

    /** A builder; the learning rate tracker is required. */
    public static Builder builder() {
        return new Builder();
    }

    @Override
    void stepPair(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate, int step) {
        NDList adjusted =
                LoraProMath.adjustedGradients(a, b, gradA, gradB, pair.getScaling(), getDelta(), getXMode());
        requireFiniteResult("the adjusted gradient", adjusted);
        DecoupledStep.apply(a, adjusted.get(0), learningRate, getWeightDecay());
        DecoupledStep.apply(b, adjusted.get(1), learningRate, getWeightDecay());
    }

    /** A plain SGD step with decoupled weight decay on one parameter; {@code grad} is left untouched. */
    @Override
    void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step) {
        DecoupledStep.apply(weight, grad.duplicate(), learningRate, getWeightDecay());
    }

    /** None: SGD keeps only step counts. */
    @Override
    Map<String, Shape> pairState(LoraPair pair) {
        return Map.of();
    }

    @Override
    Set<String> parameterState() {
        return Set.of();
    }

    /** Builds a {@link LoraProSgd}. */
    public static final class Builder extends LoraProOptimizer.Builder<Builder> {

        private Builder() {
            super(null);
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Validates and builds the optimizer. */
        public LoraProSgd build() {
            validate();
            return new LoraProSgd(this);
        }
    }
}
