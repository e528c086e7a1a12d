package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

import org.ejml.data.DMatrixRMaj;

/**
 * The regularised Grams of one LoRA pair's factors, B^T B and A A^T, with their
 * eigen-decompositions and inverses, on the host in double precision. They depend on the factors
 * only, so one instance serves every gradient adjusted within a step.
 *
 * <p>The Grams are formed in double precision, never in the factors' own (float) precision: a float
 * Gram of a rank-deficient or ill-conditioned factor has eigenvalues that round to zero or below,
 * and their inverses blow up or flip sign. On the tensor path ({@link #of}) the product runs on the
 * factors' device on a double copy of the factor (m x r, small next to an m x n pass) and only the
 * r x r result goes to the host; forming it on the host with EJML instead cost 4 to 5 m x n passes
 * at r = 64 (docs/benchmarks.md). The fused CPU step, which holds the factors on the host anyway,
 * forms them there at small ranks ({@link #ofRows}, {@link FactorRows}).
 *
 * <p>Each Gram's eigenvalues are then regularised by one rule (see {@link
 * HostMatrices.SymmetricEigen#regularised}):
 *
 * <pre>
 * lambda_i' = max(lambda_i, RELATIVE_FLOOR * lambda_max) + delta
 * </pre>
 *
 * The ridge delta (1e-8 by default, as in the paper's code) makes B = 0, the usual LoRA start,
 * well defined. The relative floor (1e-4: singular values below 1e-2 sigma_max count as 1e-2
 * sigma_max) caps the amplification of directions the factor hardly spans. The LoRA gradient gA =
 * s B^T g arrives in float32, whose rounding leaves about 6e-8 sigma_max |g| in every direction,
 * also where the exact gradient is zero; (B^T B)^-1 divides that by the eigenvalue, so with a floor
 * of 1e-4 lambda_max the noise stays below 6e-4 of the largest direction's signal |g| / sigma_max.
 * Measured on a 1024 x 1024 layer with r = 64 and rank(B) = 16: float32 against float64, gA* is off
 * by 9e-4 with this floor, by 9e-2 with a floor of 1e-6, and by a factor of 48 with float32 Grams
 * and the ridge alone.
 */
final class FactorGrams {

    /** Eigenvalues below this fraction of the largest are raised to it. */
    static final double RELATIVE_FLOOR = 1e-4;

    final DMatrixRMaj gramB;
    final DMatrixRMaj gramA;
    final HostMatrices.SymmetricEigen eigenB;
    final HostMatrices.SymmetricEigen eigenA;
    final DMatrixRMaj gramBInv;
    final DMatrixRMaj gramAInv;

    /**
     * The Grams of a pair held as arrays, formed on their device.
     *
     * @param a A (r x n)
     * @param b B (m x r)
     * @param delta the ridge added to both Grams
     * @throws NonFiniteFactorException if A or B holds NaN or infinity
     */
    static FactorGrams of(NDArray a, NDArray b, double delta) {
        return new FactorGrams(HostMatrices.gramInDouble(b, true), HostMatrices.gramInDouble(a, false), delta);
    }

    /**
     * The Grams of a pair held as rows on the host (see {@link FactorRows}).
     *
     * @param a A (r rows of n)
     * @param bt B^T (r rows of m)
     * @param delta the ridge added to both Grams
     * @throws NonFiniteFactorException if A or B holds NaN or infinity
     */
    static FactorGrams ofRows(float[][] a, float[][] bt, double delta) {
        return new FactorGrams(FactorRows.timesTranspose(bt, bt), FactorRows.timesTranspose(a, a), delta);
    }

    /** Regularises the raw Grams B^T B and A A^T. */
    private FactorGrams(DMatrixRMaj rawB, DMatrixRMaj rawA, double delta) {
        // a NaN or infinity in a factor reaches its Gram
        HostMatrices.requireFinite(rawB, "lora_B");
        HostMatrices.requireFinite(rawA, "lora_A");
        this.eigenB = HostMatrices.eigh(rawB).regularised(RELATIVE_FLOOR, delta);
        this.eigenA = HostMatrices.eigh(rawA).regularised(RELATIVE_FLOOR, delta);
        this.gramB = eigenB.matrix();
        this.gramA = eigenA.matrix();
        this.gramBInv = eigenB.inverse();
        this.gramAInv = eigenA.inverse();
    }
}
