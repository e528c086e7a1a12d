package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

import org.ejml.data.DMatrixRMaj;

/**
 * The adjusted and equivalent gradients of one LoRA pair for one pair of LoRA gradients (gA, gB),
 * as arrays on the pair's device: the r x r algebra is {@link AdjustmentCoefficients}' (on the
 * host, in double precision), and only the products that contract an m or n dimension run on the
 * device. {@link HostPairGeometry} is the same on host arrays, for the fused CPU step at small
 * ranks.
 */
final class PairGeometry {

    private final NDArray a;
    private final NDArray b;
    private final NDArray gradA;
    private final NDArray gradB;
    private final double scaling;
    private final AdjustmentCoefficients coefficients;

    /**
     * Forms B^T gB on the device (and, when the Sylvester X asks for it, gA A^T) for the r x r
     * algebra.
     *
     * @param a A (r x n)
     * @param b B (m x r)
     * @param grams the Grams of A and B
     * @param gradA the LoRA gradient of A (r x n)
     * @param gradB the LoRA gradient of B (m x r)
     * @param scaling s in W = W0 + s B A
     */
    PairGeometry(NDArray a, NDArray b, FactorGrams grams, NDArray gradA, NDArray gradB, double scaling) {
        this.a = a;
        this.b = b;
        this.gradA = gradA;
        this.gradB = gradB;
        this.scaling = scaling;
        try (NDArray bt = b.transpose();
                NDArray btgb = bt.matMul(gradB)) {
            this.coefficients = new AdjustmentCoefficients(grams, HostMatrices.toHost(btgb), this::gradAAt, scaling);
        }
    }

    /** gA A^T on the host. */
    private DMatrixRMaj gradAAt() {
        try (NDArray at = a.transpose();
                NDArray gaat = gradA.matMul(at)) {
            return HostMatrices.toHost(gaat);
        }
    }

    /** The r x r matrix X chosen by {@code mode}. */
    DMatrixRMaj x(XMode mode) {
        return coefficients.x(mode);
    }

    /**
     * The adjusted gradients for a given X (see {@link AdjustmentCoefficients}), as new arrays
     * (gA*, gB*) on A's device.
     */
    NDList adjusted(DMatrixRMaj x) {
        NDArray adjustedA;
        NDArray adjustedB;
        // each r x r operand is created beside the array it multiplies
        try (NDArray leftADev = HostMatrices.toDevice(coefficients.leftA(), gradA);
                NDArray xDev = HostMatrices.toDevice(x, a);
                NDArray rightBDev = HostMatrices.toDevice(coefficients.rightB(), gradB);
                NDArray correctionBDev = HostMatrices.toDevice(coefficients.correctionB(x), b);
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
        try (NDArray leftADev = HostMatrices.toDevice(coefficients.leftA(), gradA);
                NDArray rightBDev = HostMatrices.toDevice(coefficients.rightB(), gradB);
                NDArray correctionBDev = HostMatrices.toDevice(coefficients.correctionB(null), b);
                NDArray adjustedA0 = leftADev.matMul(gradA);
                NDArray bc = b.matMul(correctionBDev);
                NDArray adjustedB0 = gradB.matMul(rightBDev).subi(bc)) {
            NDArray left = b.concat(adjustedB0, 1).muli(scaling * factor);
            NDArray right = adjustedA0.concat(a, 0);
            return new NDList(left, right);
        }
    }
}
