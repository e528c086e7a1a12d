package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The CPU counterpart of {@link FullAdamStep}: the same moment update and projections, done by
 * {@link FusedAdamKernel} in one pass over the moments, which it reads and writes in place in their
 * CPU tensors (fp32, or bf16 bit patterns packed in a UINT8 tensor, see {@link MomentRows}). Only
 * r-sized arrays cross between DJL and Java: the low-rank factors of g~, A and B in, the two
 * projections out.
 */
final class FusedFullAdamStep {

    private FusedFullAdamStep() {}

    /** Whether the fused kernel can step a pair whose factor A is {@code a}: fp32 on the CPU. */
    static boolean supports(NDArray a) {
        return Device.Type.CPU.equals(a.getDevice().getDeviceType()) && a.getDataType() == DataType.FLOAT32;
    }

    /**
     * Updates the moments with g~ = left right / (1 - beta1) and returns (scale B^T u, scale u A^T),
     * with u as in {@link AdamMoments#direction(NDArray, NDArray, int, double, double)}; the
     * arguments are those of {@link FullAdamStep#projectedDirection} without the block budget, but
     * the factors of g~ come as the host copies (row major) the caller already read.
     *
     * @param left the left factor of (1 - beta1) g~ (m x 2r)
     * @param right its right factor (2r x n)
     * @return new arrays (r x n, m x r) on A's manager
     */
    static NDList projectedDirection(float[] left, float[] right, NDArray m, NDArray v, NDArray a, NDArray b,
            int step, AdamSettings adam, double scale) {
        int rank = Math.toIntExact(a.getShape().get(0));
        int cols = Math.toIntExact(a.getShape().get(1));
        long rows = b.getShape().get(0);
        FusedAdamKernel kernel =
                new FusedAdamKernel(
                        rank,
                        cols,
                        left,
                        right,
                        a.toFloatArray(),
                        b.toFloatArray(),
                        adam.beta1(),
                        adam.beta2(),
                        adam.eps() * Math.sqrt(1 - Math.pow(adam.beta2(), step)));
        float[][] projected =
                kernel.run(MomentRows.of(m), MomentRows.of(v), Runtime.getRuntime().availableProcessors());
        float factor = (float) scale;
        for (float[] p : projected) {
            for (int j = 0; j < p.length; j++) {
                p[j] *= factor;
            }
        }
        NDManager manager = a.getManager();
        return new NDList(
                manager.create(projected[0], new Shape(rank, cols)), manager.create(projected[1], new Shape(rows, rank)));
    }
}
