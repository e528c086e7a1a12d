package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

/**
 * An upper bound of the largest element of a product L R computed from the factors alone, so that
 * a product too large for what it feeds is refused before it is formed. For L (m x k) and R (k x n):
 *
 * <pre>
 * |(L R)_ij| = |sum_p L_ip R_pj| &lt;= sum_p max_i |L_ip| max_j |R_pj|
 * </pre>
 *
 * One pass over L and one over R (each k wide, k = 2r for LoRA-Pro's equivalent gradient), none
 * over m x n; a NaN or infinity in either factor makes the bound NaN or infinite. The factors are
 * small, so the pass runs on the host over one copy of each: a handful of tensor operations on them
 * cost more in call overhead than the arithmetic.
 */
final class ProductBound {

    private ProductBound() {}

    /**
     * The bound of max |L R| above, in double precision.
     *
     * @param left L (m x k)
     * @param right R (k x n)
     */
    static double of(NDArray left, NDArray right) {
        int k = Math.toIntExact(left.getShape().get(1));
        if (right.getShape().get(0) != k) {
            throw new IllegalArgumentException("factor shapes disagree: " + left.getShape() + " and " + right.getShape());
        }
        return of(FactorRows.floats(left), FactorRows.floats(right), k);
    }

    /**
     * The same bound from host copies of the factors (row major), for a caller that already holds
     * them.
     *
     * @param left L (m x k)
     * @param right R (k x n)
     * @param k the inner size
     */
    static double of(float[] left, float[] right, int k) {
        float[] leftMax = columnMaxima(left, k);
        float[] rightMax = rowMaxima(right, k);
        double sum = 0;
        for (int p = 0; p < k; p++) {
            sum += (double) leftMax[p] * rightMax[p];
        }
        return sum;
    }

    /**
     * max_i |x_ip| for each column p of a row-major matrix with k columns; NaN for a column that
     * holds one.
     */
    private static float[] columnMaxima(float[] x, int k) {
        float[] max = new float[k];
        boolean[] nan = new boolean[k];
        for (int i = 0; i < x.length; i += k) {
            for (int p = 0; p < k; p++) {
                float a = Math.abs(x[i + p]);
                max[p] = a > max[p] ? a : max[p];
                nan[p] |= a != a;
            }
        }
        for (int p = 0; p < k; p++) {
            if (nan[p]) {
                max[p] = Float.NaN;
            }
        }
        return max;
    }

    /** max_j |x_pj| for each of the k rows p of a row-major matrix; NaN for a row that holds one. */
    private static float[] rowMaxima(float[] x, int k) {
        float[] max = new float[k];
        int n = k == 0 ? 0 : x.length / k;
        for (int p = 0; p < k; p++) {
            float rowMax = 0;
            boolean nan = false;
            for (int j = p * n; j < (p + 1) * n; j++) {
                float a = Math.abs(x[j]);
                rowMax = a > rowMax ? a : rowMax;
                nan |= a != a;
            }
            max[p] = nan ? Float.NaN : rowMax;
        }
        return max;
    }
}
