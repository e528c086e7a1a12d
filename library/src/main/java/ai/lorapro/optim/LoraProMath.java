package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;

/**
 * The closed forms of LoRA-Pro (ICLR 2025) for one LoRA pair W = W0 + s B A, with B (m x r) and A
 * (r x n), free of any optimizer state.
 *
 * <p>Given the LoRA gradients gA = s B^T g and gB = s g A^T of a full gradient g = dL/dW, LoRA-Pro
 * picks the factor gradients whose equivalent full-rank step s B gA* + s gB* A is closest to g:
 *
 * <pre>
 * gA* = (1/s^2) (B^T B)^-1 gA + X A
 * gB* = (1/s^2) [I - B (B^T B)^-1 B^T] gB (A A^T)^-1 - B X
 * </pre>
 *
 * for any r x r X ({@link XMode}). Both Grams are formed in double precision and regularised, their
 * eigenvalues becoming max(lambda, 1e-4 lambda_max) + delta (see {@code FactorGrams}), so B = 0
 * (the usual LoRA start) and rank-deficient factors are well defined. The r x r algebra runs on the host in double precision; products
 * with m or n dimensions run on the arrays' device, and the results are new arrays there.
 */
public final class LoraProMath {

    /** The default ridge added to the r x r Grams. */
    public static final double DEFAULT_DELTA = 1e-8;

    private LoraProMath() {}

    /**
     * The LoRA-Pro adjusted gradients (gA*, gB*).
     *
     * @param a A (r x n)
     * @param b B (m x r)
     * @param gradA the LoRA gradient of A (r x n)
     * @param gradB the LoRA gradient of B (m x r)
     * @param scaling s
     * @param delta the ridge added to B^T B and A A^T (use {@link #DEFAULT_DELTA})
     * @param mode how X is chosen
     * @return new arrays (gA* [r, n], gB* [m, r]) on A's device
     */
    public static NDList adjustedGradients(
            NDArray a, NDArray b, NDArray gradA, NDArray gradB, double scaling, double delta, XMode mode) {
        NDList out;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            PairGeometry geometry = new PairGeometry(a, b, FactorGrams.of(a, b, delta), gradA, gradB, scaling);
            out = geometry.adjusted(geometry.x(mode));
            NDScope.unregister(out);
        }
        out.forEach(NDScope::register);
        return out;
    }
}
