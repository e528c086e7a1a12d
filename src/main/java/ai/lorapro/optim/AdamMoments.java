package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

/**
 * Adam's moment update and normalised direction, written with in-place operations so that a step
 * allocates a single array the size of the moments.
 */
final class AdamMoments {

    private AdamMoments() {}

    /**
     * Updates m <- beta1 m + (1 - beta1) g and v <- beta2 v + (1 - beta2) g^2 in place, then returns
     * u = m_hat / (sqrt(v_hat) + eps) with m_hat = m / (1 - beta1^t), v_hat = v / (1 - beta2^t).
     *
     * @param m the first moment, updated in place
     * @param v the second moment, updated in place
     * @param scratch the gradient; overwritten and closed here (the caller must own it)
     * @param step t, starting at 1
     * @return u, a new array the caller closes
     */
    static NDArray direction(NDArray m, NDArray v, NDArray scratch, int step, double beta1, double beta2, double eps) {
        m.muli(beta1);
        v.muli(beta2);
        // scratch = (1 - beta1) g, then (1 - beta2) g^2 = scratch^2 (1 - beta2) / (1 - beta1)^2
        scratch.muli(1 - beta1);
        m.addi(scratch);
        scratch.muli(scratch).muli((1 - beta2) / ((1 - beta1) * (1 - beta1)));
        v.addi(scratch);
        scratch.close();
        double biasCorrection1 = 1 - Math.pow(beta1, step);
        double biasCorrection2 = 1 - Math.pow(beta2, step);
        NDArray u = v.div(biasCorrection2);
        return u.powi(0.5).addi(eps).powi(-1).muli(m).divi(biasCorrection1);
    }

    /**
     * The decoupled weight-decay step w <- w - lr (u + wd w), in place, with w taken before the
     * step. {@code update} is scaled in place, so the caller must own it.
     */
    static void apply(NDArray weight, NDArray update, double learningRate, double weightDecay) {
        if (weightDecay != 0) {
            weight.muli(1 - learningRate * weightDecay);
        }
        weight.subi(update.muli(learningRate));
    }
}
