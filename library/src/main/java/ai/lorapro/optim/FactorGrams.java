package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

import org.ejml.data.DMatrixRMaj;

/**
 * The regularised Grams B^T B + delta I and A A^T + delta I of one LoRA pair, with their
 * eigen-decompositions and inverses, on the host in double precision. They depend on the factors
 * only, so one instance serves every gradient adjusted within a step.
 */
final class FactorGrams {

    final NDArray a;
    final NDArray b;
    final DMatrixRMaj gramB;
    final DMatrixRMaj gramA;
    final HostMatrices.SymmetricEigen eigenB;
    final HostMatrices.SymmetricEigen eigenA;
    final DMatrixRMaj gramBInv;
    final DMatrixRMaj gramAInv;

    /**
     * Computes the Grams of a pair.
     *
     * @param a A (r x n)
     * @param b B (m x r)
     * @param delta the ridge added to both Grams
     */
    FactorGrams(NDArray a, NDArray b, double delta) {
        this.a = a;
        this.b = b;
        try (NDArray bt = b.transpose();
                NDArray at = a.transpose();
                NDArray btb = bt.matMul(b);
                NDArray aat = a.matMul(at)) {
            this.gramB = HostMatrices.addDiagonal(HostMatrices.toHost(btb), delta);
            this.gramA = HostMatrices.addDiagonal(HostMatrices.toHost(aat), delta);
        }
        this.eigenB = HostMatrices.eigh(gramB);
        this.eigenA = HostMatrices.eigh(gramA);
        this.gramBInv = eigenB.inverse();
        this.gramAInv = eigenA.inverse();
    }
}
