package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * An upper bound of the largest element of a product L R computed from the factors alone, so that
 * a product too large for what it feeds is refused before it is formed. For L (m x k) and R (k x n):
 *
 * <pre>
 * |(L R)_ij| = |sum_p L_ip R_pj| &lt;= sum_p max_i |L_ip| max_j |R_pj|
 * </pre>
 *
 * One pass over L and one over R (each k wide, k = 2r for LoRA-Pro's equivalent gradient), none
 * over m x n; a NaN or infinity in either factor makes the bound NaN or infinite.
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
        try (NDArray leftAbs = left.abs();
                NDArray leftMax = leftAbs.max(new int[] {0});
                NDArray leftMax64 = leftMax.toType(DataType.FLOAT64, false);
                NDArray rightAbs = right.abs();
                NDArray rightMax = rightAbs.max(new int[] {1});
                NDArray rightMax64 = rightMax.toType(DataType.FLOAT64, false);
                NDArray products = leftMax64.mul(rightMax64);
                NDArray sum = products.sum()) {
            return sum.getDouble();
        }
    }
}
