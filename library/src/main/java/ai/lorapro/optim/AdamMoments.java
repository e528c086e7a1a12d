package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

/**
 * Adam's moment update and normalised direction, written so that every pass over the moments does
 * as much as one tensor operation can: a step reads and writes each moment twice (scale, then add)
 * and allocates two arrays the size of the moments, never more than two alive at once.
 *
 * <p>The direction is returned up to a scalar: {@link #direction} gives {@code m / (sqrt(v) +
 * eps')} with eps' = eps sqrt(1 - beta2^t), and {@link #biasScale} gives the factor sqrt(1 -
 * beta2^t) / (1 - beta1^t) that turns it into u = m_hat / (sqrt(v_hat) + eps). Callers that project
 * u onto small arrays apply that factor there, which saves a pass over an m x n array.
 */
final class AdamMoments {

    /**
     * The largest |g| the moments take without overflowing float32: G = sqrt(MAX / 2). If every g a
     * moment pair ever took has |g| <= G, then, as each update is a convex combination of the
     * previous value and the new term (starting at 0), |m| <= G and v <= (1 - beta2) sum beta2^k
     * G^2 <= G^2 = MAX / 2, so beta2 v + (1 - beta2) g^2 and every partial result stay below MAX.
     */
    static final double LARGEST_GRADIENT = Math.sqrt(Float.MAX_VALUE / 2.0);

    private AdamMoments() {}

    /**
     * Updates m ← beta1 m + (1 - beta1) g and v ← beta2 v + (1 - beta2) g^2 in place.
     *
     * @param m the first moment, updated in place
     * @param v the second moment, updated in place
     * @param scaledGrad (1 - beta1) g; overwritten and closed here (the caller must own it)
     */
    static void updateMoments(NDArray m, NDArray v, NDArray scaledGrad, double beta1, double beta2) {
        m.muli(beta1).addi(scaledGrad);
        // ((1 - beta1) g)^2 (1 - beta2) / (1 - beta1)^2 = (1 - beta2) g^2
        scaledGrad.muli(scaledGrad).muli((1 - beta2) / ((1 - beta1) * (1 - beta1)));
        v.muli(beta2).addi(scaledGrad);
        scaledGrad.close();
    }

    /**
     * m / (sqrt(v) + eps sqrt(1 - beta2^t)), a new array; times {@link #biasScale} it is Adam's u =
     * m_hat / (sqrt(v_hat) + eps).
     */
    static NDArray direction(NDArray m, NDArray v, int step, double beta2, double eps) {
        try (NDArray denominator = v.sqrt().addi(eps * Math.sqrt(1 - Math.pow(beta2, step)))) {
            return m.div(denominator);
        }
    }

    /** sqrt(1 - beta2^t) / (1 - beta1^t), the factor between {@link #direction} and u. */
    static double biasScale(int step, double beta1, double beta2) {
        return Math.sqrt(1 - Math.pow(beta2, step)) / (1 - Math.pow(beta1, step));
    }

    /**
     * One Adam step of the moments and its direction: m ← beta1 m + (1 - beta1) g, v ← beta2 v +
     * (1 - beta2) g^2 ({@link #updateMoments}), then u = m_hat / (sqrt(v_hat) + eps) = {@link
     * #direction} times {@link #biasScale}, as a new array.
     *
     * @param m the first moment, updated in place
     * @param v the second moment, updated in place
     * @param scratch g; overwritten and closed here (the caller must own it)
     * @param step t, starting at 1
     * @return u, a new array the caller closes
     */
    static NDArray updatedDirection(NDArray m, NDArray v, NDArray scratch, int step, double beta1, double beta2,
            double eps) {
        updateMoments(m, v, scratch.muli(1 - beta1), beta1, beta2);
        return direction(m, v, step, beta2, eps).muli(biasScale(step, beta1, beta2));
    }
}
