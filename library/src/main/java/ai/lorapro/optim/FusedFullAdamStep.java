package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * The CPU counterpart of {@link FullAdamStep}: the same moment update and projections, done by
 * {@link FusedAdamKernel} in one pass over the moments, which it reads and writes in place in their
 * CPU tensors (fp32, or bf16 bit patterns packed in a UINT8 tensor, see {@link MomentRows}). Only
 * r-sized arrays cross between DJL and Java; at small ranks the r-sized algebra around the pass
 * runs on the host too ({@link HostPairGeometry}, see {@link LoraProAdamW}).
 */
final class FusedFullAdamStep {

    private FusedFullAdamStep() {}

    /** Whether the fused kernel can step a pair whose factor A is {@code a}: fp32 on the CPU. */
    static boolean supports(NDArray a) {
        return Device.Type.CPU.equals(a.getDevice().getDeviceType()) && a.getDataType() == DataType.FLOAT32;
    }

    /**
     * Updates the moments with g~ = left right / (1 - beta1) and returns scale B^T u (r x n) and
     * scale u A^T (m x r), both row major, with u as in {@link
     * AdamMoments#direction(NDArray, NDArray, int, double, double)}.
     *
     * @param left the left factor of (1 - beta1) g~ (m x 2r, row major)
     * @param right its right factor (2r x n, row major)
     * @param m the first moment (m x n, FLOAT32 or packed bf16)
     * @param v the second moment, stored as {@code m}
     * @param a A (r x n, row major)
     * @param b B (m x r, row major)
     * @param rank r
     * @param step Adam's step t (from 1)
     * @param adam Adam's betas and epsilon
     * @param scale the factor applied to both projections
     * @return {scale B^T u, scale u A^T}
     */
    static float[][] projectedDirection(float[] left, float[] right, NDArray m, NDArray v, float[] a, float[] b,
            int rank, int step, AdamSettings adam, double scale) {
        int cols = a.length / rank;
        FusedAdamKernel kernel = new FusedAdamKernel(rank, cols, left, right, a, b, adam.beta1(), adam.beta2(),
                adam.eps() * Math.sqrt(1 - Math.pow(adam.beta2(), step)));
        float[][] projected =
                kernel.run(MomentRows.of(m), MomentRows.of(v), Runtime.getRuntime().availableProcessors());
        float factor = (float) scale;
        for (float[] p : projected) {
            for (int j = 0; j < p.length; j++) {
                p[j] *= factor;
            }
        }
        return projected;
    }
}
