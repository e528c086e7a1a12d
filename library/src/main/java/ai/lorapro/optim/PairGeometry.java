package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * The adjusted and equivalent gradients of one LoRA pair for one pair of LoRA gradients (gA, gB),
 * built on the pair's {@link FactorGrams} and the r x r products B^T gB and gA A^T.
 *
 * <p>Only products that contract an m or n dimension run on the device; everything r x r is on the
 * host in double precision. No m x m matrix is formed: the projector I - B (B^T B)^-1 B^T is applied
 * as gB - B ((B^T B)^-1 (B^T gB)).
 */
final class PairGeometry {

    private final FactorGrams grams;
    private final NDArray gradA;
    private final NDArray gradB;
    private final double scaling;
    private final DMatrixRMaj btGradB;
    private final DMatrixRMaj gradAAt;

    /**
     * Computes the gradient-dependent r x r quantities of a pair.
     *
     * @param grams the Grams of the pair's factors
     * @param gradA the LoRA gradient of A (r x n)
     * @param gradB the LoRA gradient of B (m x r)
     * @param scaling s in W = W0 + s B A
     */
    PairGeometry(FactorGrams grams, NDArray gradA, NDArray gradB, double scaling) {
        this.grams = grams;
        this.gradA = gradA;
        this.gradB = gradB;
        this.scaling = scaling;
        try (NDArray bt = grams.b.transpose();
                NDArray at = grams.a.transpose();
                NDArray btgb = bt.matMul(gradB);
                NDArray gaat = gradA.matMul(at)) {
            this.btGradB = HostMatrices.toHost(btgb);
            this.gradAAt = HostMatrices.toHost(gaat);
        }
    }

    /** The r x r matrix X chosen by {@code mode}. */
    DMatrixRMaj x(XMode mode) {
        double invS2 = 1.0 / (scaling * scaling);
        switch (mode) {
            case SYLVESTER:
                DMatrixRMaj rhs = HostMatrices.scale(-invS2, HostMatrices.mult(grams.gramBInv, gradAAt));
                return HostMatrices.solveSylvester(grams.eigenB, grams.eigenA, rhs);
            case SYMMETRY:
                return HostMatrices.scale(
                        -0.5 * invS2, HostMatrices.mult(HostMatrices.mult(grams.gramBInv, btGradB), grams.gramA));
            case ZERO:
                return new DMatrixRMaj(grams.gramB.numRows, grams.gramA.numRows);
            default:
                throw new IllegalArgumentException("unknown x mode " + mode);
        }
    }

    /** (1/s^2) (B^T B)^-1, the factor applied to gA. */
    private DMatrixRMaj leftA() {
        return HostMatrices.scale(1.0 / (scaling * scaling), grams.gramBInv);
    }

    /** (1/s^2) (A A^T)^-1, the factor applied to gB. */
    private DMatrixRMaj rightB() {
        return HostMatrices.scale(1.0 / (scaling * scaling), grams.gramAInv);
    }

    /**
     * The adjusted gradients for a given X, as new arrays (gA*, gB*) on A's device:
     *
     * <pre>
     * gA* = (1/s^2) (B^T B)^-1 gA + X A
     * gB* = (1/s^2) [I - B (B^T B)^-1 B^T] gB (A A^T)^-1 - B X
     *     = gB [(1/s^2) (A A^T)^-1] - B [(1/s^2) (B^T B)^-1 (B^T gB) (A A^T)^-1 + X]
     * </pre>
     */
    NDList adjusted(DMatrixRMaj x) {
        DMatrixRMaj leftA = leftA();
        DMatrixRMaj rightB = rightB();
        DMatrixRMaj correctionB = HostMatrices.mult(HostMatrices.mult(grams.gramBInv, btGradB), rightB);
        CommonOps_DDRM.addEquals(correctionB, x);
        NDArray a = grams.a;
        NDArray b = grams.b;
        NDArray adjustedA;
        NDArray adjustedB;
        // each r x r operand is created beside the array it multiplies
        try (NDArray leftADev = HostMatrices.toDevice(leftA, gradA);
                NDArray xDev = HostMatrices.toDevice(x, a);
                NDArray rightBDev = HostMatrices.toDevice(rightB, gradB);
                NDArray correctionBDev = HostMatrices.toDevice(correctionB, b);
                NDArray xa = xDev.matMul(a);
                NDArray bc = b.matMul(correctionBDev)) {
            adjustedA = leftADev.matMul(gradA).addi(xa);
            adjustedB = gradB.matMul(rightBDev).subi(bc);
        }
        return new NDList(adjustedA, adjustedB);
    }

    /**
     * Low-rank factors (left m x 2r, right 2r x n) whose product is {@code factor} times the
     * equivalent gradient: [factor s B, factor s gB*] [(1/s^2)(B^T B)^-1 gA; A], with X = 0.
     *
     * @return new arrays (left, right) on A's device
     */
    NDList equivalentFactors(double factor) {
        DMatrixRMaj leftA = leftA();
        DMatrixRMaj rightB = rightB();
        DMatrixRMaj correctionB = HostMatrices.mult(HostMatrices.mult(grams.gramBInv, btGradB), rightB);
        NDArray a = grams.a;
        NDArray b = grams.b;
        try (NDArray leftADev = HostMatrices.toDevice(leftA, gradA);
                NDArray rightBDev = HostMatrices.toDevice(rightB, gradB);
                NDArray correctionBDev = HostMatrices.toDevice(correctionB, b);
                NDArray adjustedA0 = leftADev.matMul(gradA);
                NDArray bc = b.matMul(correctionBDev);
                NDArray adjustedB0 = gradB.matMul(rightBDev).subi(bc)) {
            NDArray left = b.concat(adjustedB0, 1).muli(scaling * factor);
            NDArray right = adjustedA0.concat(a, 0);
            return new NDList(left, right);
        }
    }
}
