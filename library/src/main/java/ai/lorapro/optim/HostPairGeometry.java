package ai.lorapro.optim;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * {@link PairGeometry} on the host: the adjusted and equivalent gradients of one LoRA pair from its
 * factors held as rows ({@link FactorRows}: A and gA as r rows of n, B and gB transposed, r rows of
 * m). Up to rank {@link LoraProAdamW#HOST_ALGEBRA_MAX_RANK} the fused CPU step holds its factors
 * there already, so the algebra around its pass runs without tensor operations, each of which
 * would cost more in call overhead than its r-sized arithmetic.
 */
final class HostPairGeometry {

    private final float[][] a;
    private final float[][] bt;
    private final float[][] gradA;
    private final float[][] gradBt;
    private final double scaling;
    private final AdjustmentCoefficients coefficients;

    /**
     * Forms B^T gB (and, when the Sylvester X asks for it, gA A^T) for the r x r algebra.
     *
     * @param a A (r rows of n)
     * @param bt B^T (r rows of m)
     * @param grams the Grams of A and B
     * @param gradA the LoRA gradient of A (r rows of n)
     * @param gradBt the transposed LoRA gradient of B (r rows of m)
     * @param scaling s in W = W0 + s B A
     */
    HostPairGeometry(float[][] a, float[][] bt, FactorGrams grams, float[][] gradA, float[][] gradBt, double scaling) {
        this.a = a;
        this.bt = bt;
        this.gradA = gradA;
        this.gradBt = gradBt;
        this.scaling = scaling;
        this.coefficients = new AdjustmentCoefficients(
                grams, FactorRows.timesTranspose(bt, gradBt), () -> FactorRows.timesTranspose(gradA, a), scaling);
    }

    /** The r x r matrix X chosen by {@code mode}. */
    DMatrixRMaj x(XMode mode) {
        return coefficients.x(mode);
    }

    /**
     * The adjusted gradients for a given X (see {@link AdjustmentCoefficients}): gA* as r rows of n
     * and gB*^T = rightB^T gB^T - correctionB(X)^T B^T as r rows of m.
     */
    float[][][] adjusted(DMatrixRMaj x) {
        return new float[][][] {FactorRows.combine(coefficients.leftA(), gradA, x, a), adjustedBt(x)};
    }

    /**
     * Row-major low-rank factors (left m x 2r, right 2r x n) whose product is {@code factor} times
     * the equivalent gradient: [factor s B, factor s gB*] [(1/s^2)(B^T B)^-1 gA; A], with X = 0.
     */
    float[][] equivalentFactors(double factor) {
        float[][] adjustedA0 = FactorRows.combine(coefficients.leftA(), gradA, null, null);
        float[][] adjustedB0t = adjustedBt(null);
        int r = a.length;
        int m = bt[0].length;
        float[] left = new float[m * 2 * r];
        float scale = (float) (scaling * factor);
        for (int k = 0; k < r; k++) {
            float[] bRow = bt[k];
            float[] gRow = adjustedB0t[k];
            for (int i = 0; i < m; i++) {
                left[i * 2 * r + k] = bRow[i] * scale;
                left[i * 2 * r + r + k] = gRow[i] * scale;
            }
        }
        float[][] right = new float[2 * r][];
        System.arraycopy(adjustedA0, 0, right, 0, r);
        System.arraycopy(a, 0, right, r, r);
        return new float[][] {left, FactorRows.rowMajor(right)};
    }

    /** gB*^T for X (null for 0): rightB^T gB^T - correctionB(X)^T B^T. */
    private float[][] adjustedBt(DMatrixRMaj x) {
        DMatrixRMaj rightBt = CommonOps_DDRM.transpose(coefficients.rightB(), null);
        DMatrixRMaj minusCorrectionT = CommonOps_DDRM.transpose(coefficients.correctionB(x), null);
        CommonOps_DDRM.scale(-1, minusCorrectionT);
        return FactorRows.combine(rightBt, gradBt, minusCorrectionT, bt);
    }
}
