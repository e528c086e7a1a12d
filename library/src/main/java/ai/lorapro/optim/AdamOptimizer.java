package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.training.tracker.Tracker;

/**
 * What {@link PlainAdamW} and {@link LoraProAdamW} share: Adam's hyper-parameters and the plain
 * AdamW step of a single parameter, whose moments live under {@code <name>.exp_avg} and {@code
 * <name>.exp_avg_sq} on the weight's device.
 */
public abstract class AdamOptimizer extends LoraProOptimizer {

    AdamOptimizer(AdamBuilder<?> builder) {
        super(builder);
    }

    /**
     * A plain AdamW step on one parameter; {@code grad} is left untouched. The moments and the
     * arithmetic are float32 even for a float16 parameter (see {@link StateStore#stateType}).
     */
    @Override
    void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step) {
        adamStep(name, weight, StateStore.stateTypeCopy(grad), learningRate, step);
    }

    /** Updates the moments under {@code name} with {@code scratch} (consumed) and steps {@code weight}. */
    final void adamStep(String name, NDArray weight, NDArray scratch, float learningRate, int step) {
        // the moments live with the weight: the gradient may belong to a short-lived manager
        OptimizerConfig adam = getConfig();
        NDArray u = AdamMoments.direction(state(name + ".exp_avg", weight), state(name + ".exp_avg_sq", weight),
                scratch, step, adam.beta1(), adam.beta2(), adam.eps());
        DecoupledStep.apply(weight, u, learningRate, getWeightDecay());
    }

    /**
     * The builder part shared by the AdamW optimizers: betas and epsilon.
     *
     * @param <T> the concrete builder
     */
    public abstract static class AdamBuilder<T extends AdamBuilder<T>> extends LoraProOptimizer.Builder<T> {

        AdamBuilder() {
            super(Tracker.fixed(1e-3f));
        }

        /** Sets Adam's betas (default 0.9, 0.999), each in [0, 1). */
        public T optBetas(double beta1, double beta2) {
            return optConfig(config.withBetas(beta1, beta2));
        }

        /** Sets Adam's epsilon (default 1e-8). */
        public T optEpsilon(double eps) {
            return optConfig(config.withEps(eps));
        }
    }
}
