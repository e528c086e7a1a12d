package ai.lorapro.optim;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

import java.util.function.Supplier;

/**
 * The r x r matrices of LoRA-Pro's adjustment of one pair's gradients (gA, gB), on the host in
 * double precision. With them the adjusted gradients are two products with the factors, which the
 * caller runs where the factors live ({@link PairGeometry} on their device, {@link
 * HostPairGeometry} on the host):
 *
 * <pre>
 * gA* = (1/s^2) (B^T B)^-1 gA + X A                          = leftA gA + X A
 * gB* = (1/s^2) [I - B (B^T B)^-1 B^T] gB (A A^T)^-1 - B X   = gB rightB - B correctionB(X)
 *
 * leftA = (1/s^2) (B^T B)^-1,  rightB = (1/s^2) (A A^T)^-1,
 * correctionB(X) = (B^T B)^-1 (B^T gB) rightB + X
 * </pre>
 *
 * No m x m matrix is formed: the projector is applied as gB - B ((B^T B)^-1 (B^T gB)). The
 * gradients enter only through the r x r products B^T gB and gA A^T; the second only feeds the
 * Sylvester choice of X, so it is formed only when that X is asked for.
 */
final class AdjustmentCoefficients {

    private final FactorGrams grams;
    private final DMatrixRMaj btGradB;
    private final Supplier<DMatrixRMaj> gradAAtSource;
    private DMatrixRMaj gradAAt;
    private final double scaling;

    /**
     * @param grams the Grams of the pair's factors
     * @param btGradB B^T gB
     * @param gradAAt forms gA A^T, called at most once
     * @param scaling s in W = W0 + s B A
     */
    AdjustmentCoefficients(FactorGrams grams, DMatrixRMaj btGradB, Supplier<DMatrixRMaj> gradAAt, double scaling) {
        this.grams = grams;
        this.btGradB = btGradB;
        this.gradAAtSource = gradAAt;
        this.scaling = scaling;
    }

    /** The r x r matrix X chosen by {@code mode}. */
    DMatrixRMaj x(XMode mode) {
        double invS2 = 1.0 / (scaling * scaling);
        switch (mode) {
            case SYLVESTER:
                if (gradAAt == null) {
                    gradAAt = gradAAtSource.get();
                }
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
    DMatrixRMaj leftA() {
        return HostMatrices.scale(1.0 / (scaling * scaling), grams.gramBInv);
    }

    /** (1/s^2) (A A^T)^-1, the factor applied to gB. */
    DMatrixRMaj rightB() {
        return HostMatrices.scale(1.0 / (scaling * scaling), grams.gramAInv);
    }

    /** (B^T B)^-1 (B^T gB) rightB + X, the factor B is multiplied by; {@code x} null for X = 0. */
    DMatrixRMaj correctionB(DMatrixRMaj x) {
        DMatrixRMaj correction = HostMatrices.mult(HostMatrices.mult(grams.gramBInv, btGradB), rightB());
        if (x != null) {
            CommonOps_DDRM.addEquals(correction, x);
        }
        return correction;
    }
}
