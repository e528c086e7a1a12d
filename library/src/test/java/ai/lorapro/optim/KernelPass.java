package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Random;

/** One pass of a fused-step kernel on seeded data, for tests that compare kernels and thread counts. */
final class KernelPass {

    private KernelPass() {}

    /**
     * One pass of {@code kernel} (a value of {@link FusedKernels#PROPERTY}) on data seeded by the shape alone.
     *
     * @return m and v after the pass (fp32 values), B^T u and u A^T
     */
    static float[][] run(NDManager manager, String kernel, int rows, int cols, int rank, boolean bf16, int workers) {
        return run(manager, kernel, rows, cols, rank, bf16, workers, MomentRows.CHUNK_BYTES);
    }

    /** {@link #run} with the moments' rows in buffers of at most {@code chunkBytes} ({@link MomentRows#of(NDArray, long)}). */
    static float[][] run(NDManager manager, String kernel, int rows, int cols, int rank, boolean bf16, int workers,
            long chunkBytes) {
        Random rng = new Random(17);
        float[] left = gaussian(rng, rows * 2 * rank, 1e-2);
        float[] right = gaussian(rng, 2 * rank * cols, 1e-1);
        float[] a = gaussian(rng, rank * cols, 1e-1);
        float[] b = gaussian(rng, rows * rank, 1e-1);
        float[] m0 = gaussian(rng, rows * cols, 1e-3);
        float[] v0 = gaussian(rng, rows * cols, 1e-3);
        for (int i = 0; i < v0.length; i++) {
            v0[i] = v0[i] * v0[i];
        }
        try (NDManager scope = manager.newSubManager()) {
            NDArray m = moment(scope, m0, rows, cols, bf16);
            NDArray v = moment(scope, v0, rows, cols, bf16);
            FusedAdamKernel pass = new FusedAdamKernel(rank, cols, left, right, a, b, 0.9, 0.999, 1e-8);
            float[][] projected = VectorAdamKernelTest.withKernel(kernel,
                    () -> pass.run(MomentRows.of(m, chunkBytes), MomentRows.of(v, chunkBytes), workers));
            return new float[][] {values(m, rows, cols), values(v, rows, cols), projected[0], projected[1]};
        }
    }

    private static NDArray moment(NDManager scope, float[] values, int rows, int cols, boolean bf16) {
        NDArray fp32 = scope.create(values, new Shape(rows, cols));
        if (!bf16) {
            return fp32;
        }
        NDArray packed = scope.zeros(MomentRows.packedShape(new Shape(rows, cols)), DataType.UINT8);
        MomentRows.copy(MomentRows.of(fp32), MomentRows.of(packed), true);
        return packed;
    }

    private static float[] values(NDArray moment, int rows, int cols) {
        float[] out = new float[rows * cols];
        float[] row = new float[cols];
        MomentRows.Cursor cursor = MomentRows.of(moment).cursor();
        for (int i = 0; i < rows; i++) {
            cursor.read((long) i * cols, row, cols);
            System.arraycopy(row, 0, out, i * cols, cols);
        }
        return out;
    }

    private static float[] gaussian(Random rng, int len, double std) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) {
            x[i] = (float) (std * rng.nextGaussian());
        }
        return x;
    }
}
