package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.training.tracker.Tracker;

/**
 * What {@link PlainAdamW} and {@link LoraProAdamW} share: Adam's hyper-parameters and the plain
 * AdamW step of a single parameter, whose moments live under {@code <name>.exp_avg} and {@code
 * <name>.exp_avg_sq} on the weight's device.
 */
public abstract class AdamOptimizer extends LoraProOptimizer {

    final double beta1;
    final double beta2;
    final double eps;

    AdamOptimizer(AdamBuilder<?> builder) {
        super(builder);
        this.beta1 = builder.beta1;
        this.beta2 = builder.beta2;
        this.eps = builder.eps;
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
        NDArray u = AdamMoments.direction(
                state(name + ".exp_avg", weight), state(name + ".exp_avg_sq", weight), scratch, step, beta1, beta2, eps);
        DecoupledStep.apply(weight, u, learningRate, getWeightDecay());
    }

    /**
     * The builder part shared by the AdamW optimizers: betas and epsilon.
     *
     * @param <T> the concrete builder
     */
    public abstract static class AdamBuilder<T extends AdamBuilder<T>> extends LoraProOptimizer.Builder<T> {

        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;

        AdamBuilder() {
            super(Tracker.fixed(1e-3f));
        }

        /** Sets Adam's betas (default 0.9, 0.999), each in [0, 1). */
        public T optBetas(double beta1, double beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return self();
        }

        /** Sets Adam's epsilon (default 1e-8). */
        public T optEpsilon(double eps) {
            this.eps = eps;
            return self();
        }

        @Override
        void validate() {
            super.validate();
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("Adam betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
            }
            if (!(eps > 0) || Double.isInfinite(eps)) {
                throw new IllegalArgumentException("Adam epsilon must be finite and > 0, got " + eps);
            }
        }
    }
}
