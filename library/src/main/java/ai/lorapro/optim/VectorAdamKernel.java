package ai.lorapro.optim;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The m x n pass of a fused full-mode step ({@link FusedAdamKernel} states the algebra) written with
 * the Vector API ({@code jdk.incubator.vector}), so that every multiply-add runs on full SIMD
 * registers, including the dot products that plain loops cannot vectorise. Loaded only when that
 * module is resolved ({@link FusedKernels}); the same pass in plain loops runs otherwise.
 *
 * <p>Rows go in pairs (a last odd row alone); per pair and tile of {@link #TILE} columns, with L
 * lanes per vector:
 *
 * <ol>
 *   <li>t = left_i right for both rows: the 2r broadcast coefficients left_ik times the rows of the
 *       right factor, eight at a time, each vector of the right factor loaded once for the two rows,
 *       accumulated in a tile-long array per row;
 *   <li>the Adam update of each row's moments, loaded as vectors straight from the tensors' memory
 *       (each element read once and written once, no copy), and u over t's array; for a pair of
 *       fp32 rows (2r a multiple of eight) in the same loop as t's last eight terms, so that the
 *       memory traffic overlaps the multiply-adds;
 *   <li>both projections, four factor rows at a time: (B^T u)_k += B_ik u_i + B_(i+1)k u_(i+1) into
 *       this thread's r x n partial sum (loaded and stored once for the pair), and u_i A_k^T into
 *       vectors held in registers over the tile, then added to a per-row array of L lanes per k,
 *       summed once per row.
 * </ol>
 *
 * <p>Columns past the last whole vector of a tile run the same operations on scalars. bf16 moments
 * are converted by vector shifts (to fp32: exact; to bf16: round to nearest even, NaN kept, a
 * positive second moment never stored as zero, as {@link Bf16} does).
 *
 * <p>Fixed reduction order: the rows are split into a number of contiguous parts that depends only
 * on m (never on the thread count); each part sums its own B^T u and the parts are added in order,
 * and each row's dot products are summed in the same order whatever thread runs it. So the result
 * is the same for any number of workers and any scheduling.
 */
final class VectorAdamKernel implements MomentKernel {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final int LANES = FLOATS.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** Columns per tile: the tile's scratch and its columns of the factors stay in the caches. */
    static final int TILE = 512;
    /** At most this many row parts: enough for 16 threads, few enough to sum the partials cheaply. */
    static final int MAX_PARTS = 16;
    /** Fewest rows worth a part of their own. */
    private static final int MIN_ROWS_PER_PART = 16;

    /** What runs, for logs: the kernel and its vector width. */
    @Override
    public String toString() {
        return "Vector API kernel (" + FLOATS.vectorBitSize() + "-bit vectors)";
    }

    @Override
    public float[][] run(FusedStepFactors factors, MomentRows m, MomentRows v, int workers) {
        int rank = factors.rank();
        int cols = factors.cols();
        int rows = factors.rows();
        if (m.rows() != rows || v.rows() != rows || m.cols() != cols || v.cols() != cols || m.isBf16() != v.isBf16()) {
            throw new IllegalArgumentException("moment shapes disagree with the factors");
        }
        int parts = Math.max(1, Math.min(MAX_PARTS, rows / MIN_ROWS_PER_PART));
        float[][] partialA = new float[parts][];
        float[] projectedB = new float[rows * rank];
        IntStream range = IntStream.range(0, parts);
        (parts > 1 && workers > 1 ? range.parallel() : range).forEach(p -> {
            int from = (int) ((long) rows * p / parts);
            int to = (int) ((long) rows * (p + 1) / parts);
            partialA[p] = new Worker(factors, m, v).rows(from, to, projectedB);
        });
        float[] projectedA = partialA[0];
        for (int p = 1; p < parts; p++) {
            add(projectedA, partialA[p]);
        }
        return new float[][] {projectedA, projectedB};
    }

    /** x += y. */
    private static void add(float[] x, float[] y) {
        int bound = FLOATS.loopBound(x.length);
        int j = 0;
        for (; j < bound; j += LANES) {
            FloatVector.fromArray(FLOATS, x, j).add(FloatVector.fromArray(FLOATS, y, j)).intoArray(x, j);
        }
        for (; j < x.length; j++) {
            x[j] += y[j];
        }
    }

    /** One thread's scratch and partial B^T u. */
    private static final class Worker {
        private final int rank;
        private final int cols;
        private final float[] left;
        private final float[] right;
        private final float[] a;
        private final float[] b;
        private final float beta1;
        private final float beta2;
        private final float varianceScale;
        private final float epsilon;
        private final MomentRows mRows;
        private final MomentRows vRows;
        private final boolean bf16;
        /** Scratch of the first row of a pair (or of a single row). */
        private final RowScratch first;
        /** Scratch of the second row of a pair. */
        private final RowScratch second;
        /** This thread's B^T u (r x n). */
        private final float[] projectedA;

        Worker(FusedStepFactors f, MomentRows mRows, MomentRows vRows) {
            rank = f.rank();
            cols = f.cols();
            left = f.left();
            right = f.right();
            a = f.a();
            b = f.b();
            beta1 = f.beta1();
            beta2 = f.beta2();
            varianceScale = f.varianceScale();
            epsilon = f.epsilon();
            this.mRows = mRows;
            this.vRows = vRows;
            this.bf16 = mRows.isBf16();
            first = new RowScratch(rank);
            second = new RowScratch(rank);
            projectedA = new float[rank * cols];
        }

        /**
         * Rows [from, to): in pairs, which share each load of the factors' columns and of the
         * partial B^T u between two rows (the terms are added in row order, as for single rows).
         */
        float[] rows(int from, int to, float[] projectedB) {
            int i = from;
            for (; i + 1 < to; i += 2) {
                rows(i, second, projectedB);
            }
            if (i < to) {
                rows(i, null, projectedB);
            }
            return projectedA;
        }

        /** Row i, and row i + 1 in {@code y} unless it is null, tile by tile. */
        private void rows(int i, RowScratch y, float[] projectedB) {
            RowScratch x = first;
            x.startRow(i);
            if (y != null) {
                y.startRow(i + 1);
            }
            for (int start = 0; start < cols; start += TILE) {
                int len = Math.min(TILE, cols - start);
                int whole = FLOATS.loopBound(len);
                // a pair of fp32 rows whose 2r terms go eight at a time updates its moments in t's last loop
                boolean fused = y != null && !bf16 && 2 * rank % 8 == 0;
                equivalentGradient(x, y, start, len, whole, fused);
                int updated = fused ? whole : 0;
                x.direction(start, len, whole, updated);
                if (y != null) {
                    y.direction(start, len, whole, updated);
                }
                project(x, y, start, len, whole);
            }
            x.finishRow(projectedB);
            if (y != null) {
                y.finishRow(projectedB);
            }
        }

        /**
         * t = left_i right over the tile's columns [start, start + len), for one row or a pair: a
         * pair takes the terms eight at a time, each vector of the right factor loaded once for both
         * rows; the terms left over (and a single row's) go four, then two, at a time. With {@code
         * fused} (a pair, fp32 moments, 2r a multiple of eight) the last eight terms' loop also updates
         * both rows' moments over the whole vectors and leaves u in t ({@link #sum8AndDirection}).
         */
        private void equivalentGradient(RowScratch x, RowScratch y, int start, int len, int whole, boolean fused) {
            int paired = 0;
            if (y != null) {
                for (; paired + 8 <= 2 * rank; paired += 8) {
                    if (fused && paired + 8 == 2 * rank) {
                        sum8AndDirection(paired == 0, x, y, paired, start, whole);
                    } else {
                        sum8(paired == 0, x.left + paired, x.t, y.left + paired, y.t, paired * cols + start, whole);
                    }
                }
            }
            for (RowScratch row : y != null ? new RowScratch[] {x, y} : new RowScratch[] {x}) {
                int k = paired;
                for (; k + 4 <= 2 * rank; k += 4) {
                    sum4(k == 0, row.left + k, row.t, k * cols + start, whole);
                }
                if (k < 2 * rank) {
                    // 2r is even: two terms left
                    sum2(k == 0, row.left + k, row.t, k * cols + start, whole);
                }
                row.equivalentGradientTail(start, len, whole);
            }
        }

        /** t (= 0 when first) += four terms left[l..l+3] times right rows starting at {@code r0}. */
        private void sum4(boolean first, int l, float[] t, int r0, int whole) {
            FloatVector c0 = FloatVector.broadcast(FLOATS, left[l]);
            FloatVector c1 = FloatVector.broadcast(FLOATS, left[l + 1]);
            FloatVector c2 = FloatVector.broadcast(FLOATS, left[l + 2]);
            FloatVector c3 = FloatVector.broadcast(FLOATS, left[l + 3]);
            int r1 = r0 + cols;
            int r2 = r1 + cols;
            int r3 = r2 + cols;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector acc = first ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, t, j);
                acc = FloatVector.fromArray(FLOATS, right, r0 + j).fma(c0, acc);
                acc = FloatVector.fromArray(FLOATS, right, r1 + j).fma(c1, acc);
                acc = FloatVector.fromArray(FLOATS, right, r2 + j).fma(c2, acc);
                acc = FloatVector.fromArray(FLOATS, right, r3 + j).fma(c3, acc);
                acc.intoArray(t, j);
            }
        }

        /**
         * t (= 0 when first) += eight terms for each of two rows: left[l..l+7] and left[m..m+7]
         * times the right rows starting at {@code r0}, each loaded once.
         */
        private void sum8(boolean first, int l, float[] t, int m, float[] w, int r0, int whole) {
            float[] right = this.right;
            float[] left = this.left;
            FloatVector c0 = FloatVector.broadcast(FLOATS, left[l]);
            FloatVector c1 = FloatVector.broadcast(FLOATS, left[l + 1]);
            FloatVector c2 = FloatVector.broadcast(FLOATS, left[l + 2]);
            FloatVector c3 = FloatVector.broadcast(FLOATS, left[l + 3]);
            FloatVector c4 = FloatVector.broadcast(FLOATS, left[l + 4]);
            FloatVector c5 = FloatVector.broadcast(FLOATS, left[l + 5]);
            FloatVector c6 = FloatVector.broadcast(FLOATS, left[l + 6]);
            FloatVector c7 = FloatVector.broadcast(FLOATS, left[l + 7]);
            FloatVector d0 = FloatVector.broadcast(FLOATS, left[m]);
            FloatVector d1 = FloatVector.broadcast(FLOATS, left[m + 1]);
            FloatVector d2 = FloatVector.broadcast(FLOATS, left[m + 2]);
            FloatVector d3 = FloatVector.broadcast(FLOATS, left[m + 3]);
            FloatVector d4 = FloatVector.broadcast(FLOATS, left[m + 4]);
            FloatVector d5 = FloatVector.broadcast(FLOATS, left[m + 5]);
            FloatVector d6 = FloatVector.broadcast(FLOATS, left[m + 6]);
            FloatVector d7 = FloatVector.broadcast(FLOATS, left[m + 7]);
            int n = cols;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector q = FloatVector.fromArray(FLOATS, right, r0 + j);
                FloatVector x;
                FloatVector y;
                if (first) {
                    x = q.mul(c0);
                    y = q.mul(d0);
                } else {
                    x = q.fma(c0, FloatVector.fromArray(FLOATS, t, j));
                    y = q.fma(d0, FloatVector.fromArray(FLOATS, w, j));
                }
                q = FloatVector.fromArray(FLOATS, right, r0 + n + j);
                x = q.fma(c1, x);
                y = q.fma(d1, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 2 * n + j);
                x = q.fma(c2, x);
                y = q.fma(d2, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 3 * n + j);
                x = q.fma(c3, x);
                y = q.fma(d3, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 4 * n + j);
                x = q.fma(c4, x);
                y = q.fma(d4, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 5 * n + j);
                x = q.fma(c5, x);
                y = q.fma(d5, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 6 * n + j);
                x = q.fma(c6, x);
                y = q.fma(d6, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 7 * n + j);
                x = q.fma(c7, x);
                y = q.fma(d7, y);
                x.intoArray(t, j);
                y.intoArray(w, j);
            }
        }

        /**
         * {@link #sum8} for the last eight terms of a pair of fp32 rows, followed in the same loop by
         * what {@link RowScratch#direction} does to each vector: the moments are loaded and stored
         * while the multiply-adds of t run, so that the memory traffic overlaps the arithmetic
         * instead of following it. The operations and their order per element are those of the two
         * loops it replaces, so the results are the same bit for bit. It repeats {@link #sum8}'s t
         * on purpose: one method with a flag that skips the moment update ran 5-10% slower on one
         * thread.
         */
        private void sum8AndDirection(boolean first, RowScratch rx, RowScratch ry, int k, int start, int whole) {
            float[] right = this.right;
            float[] left = this.left;
            float[] t = rx.t;
            float[] w = ry.t;
            int l = rx.left + k;
            int m = ry.left + k;
            int r0 = k * cols + start;
            FloatVector c0 = FloatVector.broadcast(FLOATS, left[l]);
            FloatVector c1 = FloatVector.broadcast(FLOATS, left[l + 1]);
            FloatVector c2 = FloatVector.broadcast(FLOATS, left[l + 2]);
            FloatVector c3 = FloatVector.broadcast(FLOATS, left[l + 3]);
            FloatVector c4 = FloatVector.broadcast(FLOATS, left[l + 4]);
            FloatVector c5 = FloatVector.broadcast(FLOATS, left[l + 5]);
            FloatVector c6 = FloatVector.broadcast(FLOATS, left[l + 6]);
            FloatVector c7 = FloatVector.broadcast(FLOATS, left[l + 7]);
            FloatVector d0 = FloatVector.broadcast(FLOATS, left[m]);
            FloatVector d1 = FloatVector.broadcast(FLOATS, left[m + 1]);
            FloatVector d2 = FloatVector.broadcast(FLOATS, left[m + 2]);
            FloatVector d3 = FloatVector.broadcast(FLOATS, left[m + 3]);
            FloatVector d4 = FloatVector.broadcast(FLOATS, left[m + 4]);
            FloatVector d5 = FloatVector.broadcast(FLOATS, left[m + 5]);
            FloatVector d6 = FloatVector.broadcast(FLOATS, left[m + 6]);
            FloatVector d7 = FloatVector.broadcast(FLOATS, left[m + 7]);
            FloatVector b1 = FloatVector.broadcast(FLOATS, beta1);
            FloatVector b2 = FloatVector.broadcast(FLOATS, beta2);
            FloatVector scale = FloatVector.broadcast(FLOATS, varianceScale);
            FloatVector eps = FloatVector.broadcast(FLOATS, epsilon);
            long offsetX = (long) rx.row * cols + start;
            long offsetY = (long) ry.row * cols + start;
            ByteBuffer mx = mRows.bytesOf(offsetX);
            ByteBuffer vx = vRows.bytesOf(offsetX);
            ByteBuffer my = mRows.bytesOf(offsetY);
            ByteBuffer vy = vRows.bytesOf(offsetY);
            int mxi = mRows.byteIndex(offsetX);
            int vxi = vRows.byteIndex(offsetX);
            int myi = mRows.byteIndex(offsetY);
            int vyi = vRows.byteIndex(offsetY);
            int n = cols;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector q = FloatVector.fromArray(FLOATS, right, r0 + j);
                FloatVector x;
                FloatVector y;
                if (first) {
                    x = q.mul(c0);
                    y = q.mul(d0);
                } else {
                    x = q.fma(c0, FloatVector.fromArray(FLOATS, t, j));
                    y = q.fma(d0, FloatVector.fromArray(FLOATS, w, j));
                }
                q = FloatVector.fromArray(FLOATS, right, r0 + n + j);
                x = q.fma(c1, x);
                y = q.fma(d1, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 2 * n + j);
                x = q.fma(c2, x);
                y = q.fma(d2, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 3 * n + j);
                x = q.fma(c3, x);
                y = q.fma(d3, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 4 * n + j);
                x = q.fma(c4, x);
                y = q.fma(d4, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 5 * n + j);
                x = q.fma(c5, x);
                y = q.fma(d5, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 6 * n + j);
                x = q.fma(c6, x);
                y = q.fma(d6, y);
                q = FloatVector.fromArray(FLOATS, right, r0 + 7 * n + j);
                x = q.fma(c7, x);
                y = q.fma(d7, y);
                int j4 = j * Float.BYTES;
                FloatVector mj = FloatVector.fromByteBuffer(FLOATS, mx, mxi + j4, NATIVE).fma(b1, x);
                FloatVector vj = FloatVector.fromByteBuffer(FLOATS, vx, vxi + j4, NATIVE).fma(b2, x.mul(x).mul(scale));
                mj.intoByteBuffer(mx, mxi + j4, NATIVE);
                vj.intoByteBuffer(vx, vxi + j4, NATIVE);
                mj.div(vj.sqrt().add(eps)).intoArray(t, j);
                mj = FloatVector.fromByteBuffer(FLOATS, my, myi + j4, NATIVE).fma(b1, y);
                vj = FloatVector.fromByteBuffer(FLOATS, vy, vyi + j4, NATIVE).fma(b2, y.mul(y).mul(scale));
                mj.intoByteBuffer(my, myi + j4, NATIVE);
                vj.intoByteBuffer(vy, vyi + j4, NATIVE);
                mj.div(vj.sqrt().add(eps)).intoArray(w, j);
            }
        }

        /** t (= 0 when first) += two terms. */
        private void sum2(boolean first, int l, float[] t, int r0, int whole) {
            FloatVector c0 = FloatVector.broadcast(FLOATS, left[l]);
            FloatVector c1 = FloatVector.broadcast(FLOATS, left[l + 1]);
            int r1 = r0 + cols;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector acc = first ? FloatVector.zero(FLOATS) : FloatVector.fromArray(FLOATS, t, j);
                acc = FloatVector.fromArray(FLOATS, right, r0 + j).fma(c0, acc);
                acc = FloatVector.fromArray(FLOATS, right, r1 + j).fma(c1, acc);
                acc.intoArray(t, j);
            }
        }

        /** B^T u += B_i^T u_i and the dot products u_i A_k^T over the tile, for one row or a pair. */
        private void project(RowScratch x, RowScratch y, int start, int len, int whole) {
            int k = 0;
            for (; k + 4 <= rank; k += 4) {
                if (y != null) {
                    project4(x, y, k, k * cols + start, whole);
                } else {
                    project4(x, k, k * cols + start, whole);
                }
            }
            for (; k < rank; k++) {
                project1(x, k, k * cols + start, whole);
                if (y != null) {
                    project1(y, k, k * cols + start, whole);
                }
            }
            x.projectTail(start, len, whole);
            if (y != null) {
                y.projectTail(start, len, whole);
            }
        }

        /** Rows k..k+3 of both projections; {@code p0} is where row k of the tile starts in r x n arrays. */
        private void project4(RowScratch x, int k, int p0, int whole) {
            int bk = x.b + k;
            float[] t = x.t;
            FloatVector b0 = FloatVector.broadcast(FLOATS, b[bk]);
            FloatVector b1 = FloatVector.broadcast(FLOATS, b[bk + 1]);
            FloatVector b2 = FloatVector.broadcast(FLOATS, b[bk + 2]);
            FloatVector b3 = FloatVector.broadcast(FLOATS, b[bk + 3]);
            int p1 = p0 + cols;
            int p2 = p1 + cols;
            int p3 = p2 + cols;
            float[] pa = projectedA;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector u = FloatVector.fromArray(FLOATS, t, j);
                u.fma(b0, FloatVector.fromArray(FLOATS, pa, p0 + j)).intoArray(pa, p0 + j);
                u.fma(b1, FloatVector.fromArray(FLOATS, pa, p1 + j)).intoArray(pa, p1 + j);
                u.fma(b2, FloatVector.fromArray(FLOATS, pa, p2 + j)).intoArray(pa, p2 + j);
                u.fma(b3, FloatVector.fromArray(FLOATS, pa, p3 + j)).intoArray(pa, p3 + j);
                s0 = u.fma(FloatVector.fromArray(FLOATS, a, p0 + j), s0);
                s1 = u.fma(FloatVector.fromArray(FLOATS, a, p1 + j), s1);
                s2 = u.fma(FloatVector.fromArray(FLOATS, a, p2 + j), s2);
                s3 = u.fma(FloatVector.fromArray(FLOATS, a, p3 + j), s3);
            }
            x.addLanes(k, s0, s1, s2, s3);
        }

        /**
         * {@link #project4} for two rows at once: each column of A and of B^T u is loaded once, and
         * B^T u gets row x's term, then row y's.
         */
        private void project4(RowScratch x, RowScratch y, int k, int p0, int whole) {
            int bk = x.b + k;
            int ck = y.b + k;
            float[] t = x.t;
            float[] w = y.t;
            FloatVector b0 = FloatVector.broadcast(FLOATS, b[bk]);
            FloatVector b1 = FloatVector.broadcast(FLOATS, b[bk + 1]);
            FloatVector b2 = FloatVector.broadcast(FLOATS, b[bk + 2]);
            FloatVector b3 = FloatVector.broadcast(FLOATS, b[bk + 3]);
            FloatVector c0 = FloatVector.broadcast(FLOATS, b[ck]);
            FloatVector c1 = FloatVector.broadcast(FLOATS, b[ck + 1]);
            FloatVector c2 = FloatVector.broadcast(FLOATS, b[ck + 2]);
            FloatVector c3 = FloatVector.broadcast(FLOATS, b[ck + 3]);
            int p1 = p0 + cols;
            int p2 = p1 + cols;
            int p3 = p2 + cols;
            float[] pa = projectedA;
            FloatVector s0 = FloatVector.zero(FLOATS);
            FloatVector s1 = s0;
            FloatVector s2 = s0;
            FloatVector s3 = s0;
            FloatVector z0 = s0;
            FloatVector z1 = s0;
            FloatVector z2 = s0;
            FloatVector z3 = s0;
            for (int j = 0; j < whole; j += LANES) {
                FloatVector u = FloatVector.fromArray(FLOATS, t, j);
                FloatVector v = FloatVector.fromArray(FLOATS, w, j);
                v.fma(c0, u.fma(b0, FloatVector.fromArray(FLOATS, pa, p0 + j))).intoArray(pa, p0 + j);
                v.fma(c1, u.fma(b1, FloatVector.fromArray(FLOATS, pa, p1 + j))).intoArray(pa, p1 + j);
                v.fma(c2, u.fma(b2, FloatVector.fromArray(FLOATS, pa, p2 + j))).intoArray(pa, p2 + j);
                v.fma(c3, u.fma(b3, FloatVector.fromArray(FLOATS, pa, p3 + j))).intoArray(pa, p3 + j);
                FloatVector q = FloatVector.fromArray(FLOATS, a, p0 + j);
                s0 = u.fma(q, s0);
                z0 = v.fma(q, z0);
                q = FloatVector.fromArray(FLOATS, a, p1 + j);
                s1 = u.fma(q, s1);
                z1 = v.fma(q, z1);
                q = FloatVector.fromArray(FLOATS, a, p2 + j);
                s2 = u.fma(q, s2);
                z2 = v.fma(q, z2);
                q = FloatVector.fromArray(FLOATS, a, p3 + j);
                s3 = u.fma(q, s3);
                z3 = v.fma(q, z3);
            }
            x.addLanes(k, s0, s1, s2, s3);
            y.addLanes(k, z0, z1, z2, z3);
        }

        /** Row k of both projections. */
        private void project1(RowScratch x, int k, int p0, int whole) {
            float[] t = x.t;
            FloatVector b0 = FloatVector.broadcast(FLOATS, b[x.b + k]);
            float[] pa = projectedA;
            FloatVector s0 = FloatVector.zero(FLOATS);
            for (int j = 0; j < whole; j += LANES) {
                FloatVector u = FloatVector.fromArray(FLOATS, t, j);
                u.fma(b0, FloatVector.fromArray(FLOATS, pa, p0 + j)).intoArray(pa, p0 + j);
                s0 = u.fma(FloatVector.fromArray(FLOATS, a, p0 + j), s0);
            }
            int l0 = k * LANES;
            FloatVector.fromArray(FLOATS, x.lanes, l0).add(s0).intoArray(x.lanes, l0);
        }

        /** One row's scratch: its tile of t (then u) and its dot-product sums. */
        private final class RowScratch {
            final float[] t = new float[TILE];
            /** lanes[k L + l]: lane l of the partial sums of u_i A_k^T over the row's whole vectors. */
            final float[] lanes;
            /** tails[k]: the same over the row's columns past the whole vectors of each tile. */
            final float[] tails;
            int row;
            /** Where the row starts in the left factor and in B. */
            int left;
            int b;

            RowScratch(int rank) {
                lanes = new float[rank * LANES];
                tails = new float[rank];
            }

            void startRow(int i) {
                row = i;
                left = i * 2 * rank;
                b = i * rank;
                Arrays.fill(lanes, 0f);
                Arrays.fill(tails, 0f);
            }

            /** t over the columns past the whole vectors, in scalars. */
            void equivalentGradientTail(int start, int len, int whole) {
                for (int j = whole; j < len; j++) {
                    float sum = 0;
                    for (int q = 0; q < 2 * rank; q++) {
                        sum = Math.fma(Worker.this.left[left + q], right[q * cols + start + j], sum);
                    }
                    t[j] = sum;
                }
            }

            /**
             * The moments of the tile's columns [start, start + len) updated with t, in place in
             * their tensors (each element read once and written once), and t overwritten with u =
             * m / (sqrt(v) + eps'); the whole vectors before column {@code updated} of the tile were
             * done already ({@link #sum8AndDirection}).
             */
            void direction(int start, int len, int whole, int updated) {
                long offset = (long) row * cols + start;
                ByteBuffer mb = mRows.bytesOf(offset);
                ByteBuffer vb = vRows.bytesOf(offset);
                int mi = mRows.byteIndex(offset);
                int vi = vRows.byteIndex(offset);
                FloatVector b1 = FloatVector.broadcast(FLOATS, beta1);
                FloatVector b2 = FloatVector.broadcast(FLOATS, beta2);
                FloatVector scale = FloatVector.broadcast(FLOATS, varianceScale);
                FloatVector eps = FloatVector.broadcast(FLOATS, epsilon);
                if (bf16) {
                    for (int j = updated; j < whole; j += LANES) {
                        FloatVector tj = FloatVector.fromArray(FLOATS, t, j);
                        int mj2 = mi + j * Short.BYTES;
                        int vj2 = vi + j * Short.BYTES;
                        FloatVector mj = decode(ShortVector.fromByteBuffer(SHORTS, mb, mj2, NATIVE)).fma(b1, tj);
                        FloatVector vj = decode(ShortVector.fromByteBuffer(SHORTS, vb, vj2, NATIVE))
                                .fma(b2, tj.mul(tj).mul(scale));
                        encode(mj, false).intoByteBuffer(mb, mj2, NATIVE);
                        encode(vj, true).intoByteBuffer(vb, vj2, NATIVE);
                        mj.div(vj.sqrt().add(eps)).intoArray(t, j);
                    }
                } else {
                    for (int j = updated; j < whole; j += LANES) {
                        FloatVector tj = FloatVector.fromArray(FLOATS, t, j);
                        int mj4 = mi + j * Float.BYTES;
                        int vj4 = vi + j * Float.BYTES;
                        FloatVector mj = FloatVector.fromByteBuffer(FLOATS, mb, mj4, NATIVE).fma(b1, tj);
                        FloatVector vj = FloatVector.fromByteBuffer(FLOATS, vb, vj4, NATIVE).fma(b2, tj.mul(tj).mul(scale));
                        mj.intoByteBuffer(mb, mj4, NATIVE);
                        vj.intoByteBuffer(vb, vj4, NATIVE);
                        mj.div(vj.sqrt().add(eps)).intoArray(t, j);
                    }
                }
                for (int j = whole; j < len; j++) {
                    float tj = t[j];
                    float mj = Math.fma(getMoment(mb, mi, j), beta1, tj);
                    float vj = Math.fma(getMoment(vb, vi, j), beta2, tj * tj * varianceScale);
                    putMoment(mb, mi, j, mj, false);
                    putMoment(vb, vi, j, vj, true);
                    t[j] = mj / ((float) Math.sqrt(vj) + epsilon);
                }
            }

            /** Both projections over the columns past the whole vectors, in scalars. */
            void projectTail(int start, int len, int whole) {
                for (int k = 0; k < rank; k++) {
                    float bik = Worker.this.b[b + k];
                    int p = k * cols + start;
                    float tail = tails[k];
                    for (int j = whole; j < len; j++) {
                        projectedA[p + j] = Math.fma(bik, t[j], projectedA[p + j]);
                        tail = Math.fma(t[j], a[p + j], tail);
                    }
                    tails[k] = tail;
                }
            }

            /** Adds a tile's dot-product lanes for k..k+3. */
            void addLanes(int k, FloatVector s0, FloatVector s1, FloatVector s2, FloatVector s3) {
                int l0 = k * LANES;
                FloatVector.fromArray(FLOATS, lanes, l0).add(s0).intoArray(lanes, l0);
                FloatVector.fromArray(FLOATS, lanes, l0 + LANES).add(s1).intoArray(lanes, l0 + LANES);
                FloatVector.fromArray(FLOATS, lanes, l0 + 2 * LANES).add(s2).intoArray(lanes, l0 + 2 * LANES);
                FloatVector.fromArray(FLOATS, lanes, l0 + 3 * LANES).add(s3).intoArray(lanes, l0 + 3 * LANES);
            }

            /** u_i A^T of the finished row: each k's lanes summed, then its scalar tail. */
            void finishRow(float[] projectedB) {
                for (int k = 0; k < rank; k++) {
                    projectedB[b + k] =
                            FloatVector.fromArray(FLOATS, lanes, k * LANES).reduceLanes(VectorOperators.ADD) + tails[k];
                }
            }
        }

        /** Element j of a tile whose first element is at byte {@code base}. */
        private float getMoment(ByteBuffer bytes, int base, int j) {
            return bf16 ? Bf16.decode(bytes.getShort(base + j * Short.BYTES)) : bytes.getFloat(base + j * Float.BYTES);
        }

        private void putMoment(ByteBuffer bytes, int base, int j, float value, boolean variance) {
            if (bf16) {
                bytes.putShort(base + j * Short.BYTES, variance ? Bf16.encodeVariance(value) : Bf16.encode(value));
            } else {
                bytes.putFloat(base + j * Float.BYTES, value);
            }
        }
    }

    /** {@code out[0, len)} = the fp32 values of the bfloat16 bit patterns {@code bits[0, len)} (exact). */
    static void decode(short[] bits, float[] out, int len) {
        int whole = SHORTS.loopBound(len);
        int j = 0;
        for (; j < whole; j += LANES) {
            decode(ShortVector.fromArray(SHORTS, bits, j)).intoArray(out, j);
        }
        for (; j < len; j++) {
            out[j] = Bf16.decode(bits[j]);
        }
    }

    /**
     * {@code bits[0, len)} = {@code values[0, len)} as bfloat16, bit for bit what {@link Bf16#encode}
     * (with {@code variance}, {@link Bf16#encodeVariance}) gives.
     */
    static void encode(float[] values, short[] bits, int len, boolean variance) {
        int whole = FLOATS.loopBound(len);
        int j = 0;
        for (; j < whole; j += LANES) {
            encode(FloatVector.fromArray(FLOATS, values, j), variance).intoArray(bits, j);
        }
        for (; j < len; j++) {
            bits[j] = variance ? Bf16.encodeVariance(values[j]) : Bf16.encode(values[j]);
        }
    }

    /** The fp32 values of bfloat16 bit patterns: the bits shifted into the upper half (exact). */
    private static FloatVector decode(ShortVector bits) {
        return ((IntVector) bits.convertShape(VectorOperators.S2I, INTS, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** {@link Bf16#encode} (with {@code variance}, {@link Bf16#encodeVariance}) lane by lane. */
    private static ShortVector encode(FloatVector values, boolean variance) {
        IntVector x = values.reinterpretAsInts();
        IntVector high = x.lanewise(VectorOperators.LSHR, 16);
        // round to nearest even: add 0x7FFF plus the lowest kept bit, keep the upper half
        IntVector rounded = x.add(high.and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = x.and(0x7FFFFFFF).compare(VectorOperators.GT, 0x7F800000);
        rounded = rounded.blend(high.or(0x0040), nan);
        if (variance) {
            // a positive value (positive int bits) that rounded to zero: the smallest positive bf16
            rounded = rounded.blend(Bf16.MIN_POSITIVE,
                    rounded.compare(VectorOperators.EQ, 0).and(x.compare(VectorOperators.GT, 0)));
        }
        return (ShortVector) rounded.convertShape(VectorOperators.I2S, SHORTS, 0);
    }
}
