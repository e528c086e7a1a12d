package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.Collection;

/**
 * Clipping of gradients by their global L2 norm, as PyTorch's {@code clip_grad_norm_}: when the
 * norm over all gradients exceeds {@code maxNorm}, every gradient is scaled in place by {@code
 * maxNorm / (norm + 1e-6)}.
 */
public final class GradientClipping {

    /** PyTorch's guard against dividing by a zero norm. */
    private static final double EPS = 1e-6;

    private GradientClipping() {}

    /**
     * Computes the global L2 norm of {@code gradients} and, when clipping is on and the norm is
     * finite and above {@code maxNorm}, scales every gradient in place so the norm becomes {@code
     * maxNorm}. A non-finite norm leaves the gradients untouched so the caller can skip the step.
     *
     * @param gradients the gradients (views of the parameters' gradient storage)
     * @param maxNorm the largest allowed norm; {@code 0} or less turns clipping off
     * @return the norm before clipping; NaN or infinite when any gradient is
     */
    public static double clipByGlobalNorm(Collection<NDArray> gradients, double maxNorm) {
        double norm = globalNorm(gradients);
        if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) {
            float scale = (float) (maxNorm / (norm + EPS));
            for (NDArray gradient : gradients) {
                gradient.muli(scale);
            }
        }
        return norm;
    }

    /**
     * The L2 norm of all {@code gradients} taken together. Each gradient's sum of squares is
     * computed on its own device in float32 (half-precision sums overflow) and added on the host
     * in double precision.
     *
     * @param gradients the gradients
     * @return the global norm, NaN or infinite when any element is
     */
    public static double globalNorm(Collection<NDArray> gradients) {
        double sumOfSquares = 0;
        for (NDArray gradient : gradients) {
            sumOfSquares += sumOfSquares(gradient);
        }
        return Math.sqrt(sumOfSquares);
    }

    private static double sumOfSquares(NDArray gradient) {
        if (gradient.getDataType() == DataType.FLOAT32) {
            try (NDArray squares = gradient.square(); NDArray sum = squares.sum()) {
                return sum.getFloat();
            }
        }
        try (NDArray wide = gradient.toType(DataType.FLOAT32, true);
                NDArray squares = wide.square();
                NDArray sum = squares.sum()) {
            return sum.getFloat();
        }
    }
}
