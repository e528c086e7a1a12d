package ai.lorapro.optim;


/**
 * The m x n part of a full-mode LoRA-Pro AdamW step as one pass over the moments, in plain Java
 * loops for the CPU. Per element (i, j) of the m x n matrix, with t = (1 - beta1) g~ formed from
 * its low-rank factors:
 *
 * <pre>
 * t_ij  = sum_k left_ik right_kj                           (left m x 2r, right 2r x n)
 * m_ij ← beta1 m_ij + t_ij
 * v_ij ← beta2 v_ij + t_ij^2 (1 - beta2) / (1 - beta1)^2  (= beta2 v + (1 - beta2) g~^2)
 * u_ij  = m_ij / (sqrt(v_ij) + eps')                       (eps' = eps sqrt(1 - beta2^t))
 * (B^T u)_kj += B_ik u_ij        (u A^T)_ik += u_ij A_kj
 * </pre>
 *
 * <p>Each element of m and v is read from memory once and written once; t and u exist only for one
 * tile of {@link #TILE} columns of one row, and both projections are accumulated while that tile
 * is in the cache, so nothing m x n is allocated. The operations and their order per element are
 * those of {@link AdamMoments#updateMoments} and {@link AdamMoments#direction(ai.djl.ndarray.NDArray,
 * ai.djl.ndarray.NDArray, int, double, double)}, in fp32; the sums over k, j and rows are ordered
 * differently and use fused multiply-adds (one rounding per term, which also halves their
 * arithmetic).
 *
 * <p>Layout for the JIT: HotSpot 17 vectorises a loop only when all its arrays are indexed by the
 * same expression, so every r- or 2r-row factor is split into one array per row and tile, and every
 * inner loop runs over {@code [0, len)} of whole arrays. The dot products u_i A_k^T accumulate in a
 * tile-long array per k, folded to a scalar at the end of the row.
 *
 * <p>Rows are split into parts as {@link RowParts} says (as in the other kernels), run as fork-join
 * tasks; each part sums its own B^T u and the partial sums are added in part order, so the result
 * depends neither on thread scheduling nor on the number of cores.
 *
 * <p>{@link #run} hands the pass to the kernel {@link FusedKernels} chooses ({@link NativeAdamKernel}
 * in C, or {@link VectorAdamKernel} with the Vector API), the same algebra; the plain loops here run
 * where neither can.
 */
final class FusedAdamKernel {

    /** Columns per tile (a power of two; the dot-product fold relies on it). */
    static final int TILE = 512;

    private final FusedStepFactors factors;
    private final int rank;
    private final int cols;
    private final int tiles;
    private final float[] left;
    /** right[k][c]: row k of the 2r x n right factor, columns of tile c (made when the loops run). */
    private float[][][] right;
    /** a[k][c]: row k of A, columns of tile c (made when the loops run). */
    private float[][][] a;
    private final float[] b;
    private final float beta1;
    private final float beta2;
    private final float varianceScale;
    private final float epsilon;

    /**
     * @param rank r
     * @param cols n
     * @param left the m x 2r left factor of (1 - beta1) g~, row major
     * @param right the 2r x n right factor, row major
     * @param a A (r x n), row major
     * @param b B (m x r), row major
     * @param epsilon eps' = eps sqrt(1 - beta2^t)
     */
    FusedAdamKernel(int rank, int cols, float[] left, float[] right, float[] a, float[] b,
            double beta1, double beta2, double epsilon) {
        this.factors = FusedStepFactors.of(rank, cols, left, right, a, b, beta1, beta2, epsilon);
        this.rank = rank;
        this.cols = cols;
        this.tiles = (cols + TILE - 1) / TILE;
        this.left = left;
        this.b = b;
        this.beta1 = factors.beta1();
        this.beta2 = factors.beta2();
        this.varianceScale = factors.varianceScale();
        this.epsilon = factors.epsilon();
    }

    private float[][][] tiled(float[] matrix, int rows) {
        float[][][] out = new float[rows][tiles][];
        for (int k = 0; k < rows; k++) {
            for (int c = 0; c < tiles; c++) {
                int start = c * TILE;
                int len = Math.min(TILE, cols - start);
                out[k][c] = new float[len];
                System.arraycopy(matrix, k * cols + start, out[k][c], 0, len);
            }
        }
        return out;
    }

    /**
     * Updates both moments in place and returns (B^T u, u A^T) as row-major arrays of r x n and
     * m x r (unscaled).
     *
     * @param workers how many threads may share the rows (the result does not depend on it: the
     *     split into row ranges depends on the shape alone)
     */
    float[][] run(MomentRows m, MomentRows v, int workers) {
        factors.requireMoments(m, v);
        int rows = factors.rows();
        MomentKernel kernel = FusedKernels.kernelOrNull();
        if (kernel != null) {
            return kernel.run(factors, m, v, workers);
        }
        if (right == null) {
            right = tiled(factors.right(), 2 * rank);
            a = tiled(factors.a(), rank);
        }
        int parts = RowParts.count(rows);
        float[][][][] partialA = new float[parts][][][];
        float[] projectedB = new float[rows * rank];
        RowParts.run(parts, workers, p -> partialA[p] = new Worker(m.cursor(), v.cursor())
                .rows(RowParts.start(rows, parts, p), RowParts.start(rows, parts, p + 1), projectedB));
        float[] projectedA = new float[rank * cols];
        for (int k = 0; k < rank; k++) {
            for (int c = 0; c < tiles; c++) {
                float[] sum = partialA[0][k][c];
                for (int p = 1; p < parts; p++) {
                    add(sum, partialA[p][k][c]);
                }
                System.arraycopy(sum, 0, projectedA, k * cols + c * TILE, sum.length);
            }
        }
        return new float[][] {projectedA, projectedB};
    }

    /** x += y over x's length. */
    private static void add(float[] x, float[] y) {
        for (int j = 0; j < x.length; j++) {
            x[j] += y[j];
        }
    }

    /** One thread's scratch and partial B^T u. */
    private final class Worker {
        private final MomentRows.Cursor mRows;
        private final MomentRows.Cursor vRows;
        private final float[] t = new float[TILE];
        private final float[] mTile = new float[TILE];
        private final float[] vTile = new float[TILE];
        /** lanes[k]: partial sums of u_i A_k^T, one per column of a tile. */
        private final float[][] lanes = new float[rank][TILE];
        /** projectedA[k][c]: this worker's B^T u, row k, tile c. */
        private final float[][][] projectedA = new float[rank][tiles][];

        Worker(MomentRows.Cursor mRows, MomentRows.Cursor vRows) {
            this.mRows = mRows;
            this.vRows = vRows;
            for (int k = 0; k < rank; k++) {
                for (int c = 0; c < tiles; c++) {
                    projectedA[k][c] = new float[a[k][c].length];
                }
            }
        }

        float[][][] rows(int from, int to, float[] projectedB) {
            for (int i = from; i < to; i++) {
                for (int c = 0; c < tiles; c++) {
                    int len = a[0][c].length;
                    long offset = (long) i * cols + (long) c * TILE;
                    equivalentGradient(i, c, len);
                    mRows.read(offset, mTile, len);
                    vRows.read(offset, vTile, len);
                    direction(len);
                    mRows.write(offset, mTile, len, false);
                    vRows.write(offset, vTile, len, true);
                    project(i, c, len);
                }
                for (int k = 0; k < rank; k++) {
                    projectedB[i * rank + k] = fold(lanes[k]);
                }
            }
            return projectedA;
        }

        /** t = left_i right (tile c), four terms of the sum per pass. */
        private void equivalentGradient(int i, int c, int len) {
            int li = i * 2 * rank;
            boolean first = true;
            for (int k = 0; k < 2 * rank; k += 4) {
                if (k + 4 <= 2 * rank) {
                    sum4(t, first, left[li + k], right[k][c], left[li + k + 1], right[k + 1][c],
                            left[li + k + 2], right[k + 2][c], left[li + k + 3], right[k + 3][c], len);
                } else {
                    sum2(t, first, left[li + k], right[k][c], left[li + k + 1], right[k + 1][c], len);
                }
                first = false;
            }
        }

        /** Updates the tile's moments with t and overwrites t with u. */
        private void direction(int len) {
            float[] t = this.t;
            float[] m = mTile;
            float[] v = vTile;
            for (int j = 0; j < len; j++) {
                float tj = t[j];
                float mj = beta1 * m[j] + tj;
                float vj = beta2 * v[j] + tj * tj * varianceScale;
                m[j] = mj;
                v[j] = vj;
                t[j] = mj / ((float) Math.sqrt(vj) + epsilon);
            }
        }

        /** B^T u += B_i^T u_i and lanes_k += u_i * A_k over the tile. */
        private void project(int i, int c, int len) {
            int bi = i * rank;
            for (int k = 0; k < rank; k += 2) {
                if (k + 1 < rank) {
                    axpy2(projectedA[k][c], b[bi + k], projectedA[k + 1][c], b[bi + k + 1], t, len);
                    mulAdd2(lanes[k], a[k][c], lanes[k + 1], a[k + 1][c], t, len);
                } else {
                    axpy2(projectedA[k][c], b[bi + k], projectedA[k][c], 0f, t, len);
                    mulAdd2(lanes[k], a[k][c], lanes[k], null, t, len);
                }
            }
        }
    }

    /** t = (first ? 0 : t) + a x + b y + c z + d w over [0, len). */
    private static void sum4(float[] t, boolean first, float a, float[] x, float b, float[] y,
            float c, float[] z, float d, float[] w, int len) {
        if (first) {
            for (int j = 0; j < len; j++) {
                t[j] = Math.fma(d, w[j], Math.fma(c, z[j], Math.fma(b, y[j], a * x[j])));
            }
        } else {
            for (int j = 0; j < len; j++) {
                t[j] = Math.fma(d, w[j], Math.fma(c, z[j], Math.fma(b, y[j], Math.fma(a, x[j], t[j]))));
            }
        }
    }

    /** t = (first ? 0 : t) + a x + b y over [0, len). */
    private static void sum2(float[] t, boolean first, float a, float[] x, float b, float[] y, int len) {
        if (first) {
            for (int j = 0; j < len; j++) {
                t[j] = Math.fma(b, y[j], a * x[j]);
            }
        } else {
            for (int j = 0; j < len; j++) {
                t[j] = Math.fma(b, y[j], Math.fma(a, x[j], t[j]));
            }
        }
    }

    /** p += a u and q += b u over [0, len); p and q may be the same array only with b = 0. */
    private static void axpy2(float[] p, float a, float[] q, float b, float[] u, int len) {
        if (p == q) {
            for (int j = 0; j < len; j++) {
                p[j] = Math.fma(a, u[j], p[j]);
            }
            return;
        }
        for (int j = 0; j < len; j++) {
            float uj = u[j];
            p[j] = Math.fma(a, uj, p[j]);
            q[j] = Math.fma(b, uj, q[j]);
        }
    }

    /** p += x u and q += y u over [0, len); with y null only p is updated. */
    private static void mulAdd2(float[] p, float[] x, float[] q, float[] y, float[] u, int len) {
        if (y == null) {
            for (int j = 0; j < len; j++) {
                p[j] = Math.fma(x[j], u[j], p[j]);
            }
            return;
        }
        for (int j = 0; j < len; j++) {
            float uj = u[j];
            p[j] = Math.fma(x[j], uj, p[j]);
            q[j] = Math.fma(y[j], uj, q[j]);
        }
    }

    /** The sum of a {@link #TILE}-long array, which is zeroed: halves folded with constant offsets. */
    private static float fold(float[] x) {
        for (int j = 0; j < TILE / 2; j++) {
            x[j] += x[j + TILE / 2];
        }
        for (int j = 0; j < TILE / 4; j++) {
            x[j] += x[j + TILE / 4];
        }
        for (int j = 0; j < TILE / 8; j++) {
            x[j] += x[j + TILE / 8];
        }
        for (int j = 0; j < TILE / 16; j++) {
            x[j] += x[j + TILE / 16];
        }
        float sum = 0;
        for (int j = 0; j < TILE / 16; j++) {
            sum += x[j];
        }
        java.util.Arrays.fill(x, 0f);
        return sum;
    }
}
