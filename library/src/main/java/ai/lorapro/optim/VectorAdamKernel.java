package ai.lorapro.optim;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The m x n pass of a fused full-mode step ({@link FusedAdamKernel} states the algebra) written with
 * the Vector API ({@code jdk.incubator.vector}), so that every multiply-add runs on full SIMD
 * registers, including the dot products that plain loops cannot vectorise. Loaded only when that
 * module is resolved ({@link FusedKernels}); the same pass in plain loops runs otherwise.
 *
 * <p>With L lanes per vector, the columns go in strips of {@link #STRIP} = 2L, and the rows in
 * groups of {@link #GROUP} (the rows left over one at a time). Per group, three phases over whole
 * rows:
 *
 * <ol>
 *   <li>t = left_i right for the group's rows, strip by strip: each vector of the right factor is
 *       loaded once for all the rows of the group, and the 2r terms accumulate in registers;
 *   <li>the Adam update of the group's moments along the columns, loaded as vectors straight from
 *       the tensors' memory ({@link MomentVectors}: each element read once and written once, no
 *       copy), t becoming u. fp32 moments are swept one row at a time (see {@link #direction});
 *       bf16 moments with the four rows side by side in each of its two sweeps (first moments,
 *       then second moments; a group whose rows lie in two moment buffers, and a leftover row, one
 *       row at a time). Interleaving the moments
 *       with the arithmetic, strip by strip, was slower;
 *   <li>both projections: (B^T u)_k += B_ik u_i for the group's rows, strip by strip, with each
 *       vector of the partial sum loaded and stored once; and u_i A_k^T accumulated per lane, summed
 *       once per row. With 512-bit vectors those lanes stay in registers over all strips, four k at
 *       a time ({@link #UAT_IN_REGISTERS}); otherwise they are updated in memory strip by strip.
 * </ol>
 *
 * <p>The right factor and A are packed once per step strip by strip ({@link #pack}: a strip's 2r
 * rows, then r rows, are one contiguous block), and each row part's partial B^T u is kept in the same
 * layout and unpacked at the end. In row-major order the rows of a factor lie n floats apart, and
 * for n a multiple of 1024 all of them fall in the same set of the L1 cache and evict each other;
 * packed, a strip's factor columns are a few consecutive cache lines.
 *
 * <p>Columns past the last whole strip run the same operations on scalars. bf16 moments are
 * converted by vector shifts (to fp32: exact; to bf16: round to nearest even, NaN kept, a positive
 * second moment never stored as zero, as {@link Bf16} does).
 *
 * <p>Fixed reduction order: the rows are split into a number of contiguous parts that depends only
 * on m (never on the thread count); each part sums its own B^T u and the parts are added in order,
 * and each row's dot products are summed in the same order whatever thread runs it (their lanes one
 * after another, not by {@code reduceLanes}, whose order the JIT may change). So the result
 * is the same for any number of workers and any scheduling.
 */
final class VectorAdamKernel implements MomentKernel {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));
    private static final int LANES = FLOATS.length();

    /** Columns per strip: two vectors. */
    static final int STRIP = 2 * LANES;
    /**
     * Rows per group: four rows of two vectors keep eight accumulators and four coefficients in
     * registers, which fits AVX2's sixteen; eight rows ran no faster on AVX-512.
     */
    static final int GROUP = 4;
    /**
     * Whether u_g A_k^T of a group is summed in registers, four k at a time (sixteen accumulators,
     * eight A vectors and two of u: 26 registers), rather than strip by strip in memory. Only with
     * 512-bit vectors, whose instruction sets (AVX-512, SVE) have 32 registers; AVX2 has 16.
     */
    static final boolean UAT_IN_REGISTERS = FLOATS.vectorBitSize() >= 512;

    /**
     * Checks that the moments' vector loads and stores work on this JDK ({@link MomentVectors#check}),
     * so that {@link FusedKernels} finds out when it loads the kernel, not in a step.
     *
     * @throws IllegalStateException if they do not
     */
    VectorAdamKernel() {
        MomentVectors.check(FLOATS, SHORTS);
    }

    /** What runs, for logs: the kernel and its vector width. */
    @Override
    public String toString() {
        return "Vector API kernel (" + FLOATS.vectorBitSize() + "-bit vectors, moments through "
                + MomentVectors.ACCESS.api() + ")";
    }

    @Override
    public float[][] run(FusedStepFactors factors, MomentRows m, MomentRows v, int workers) {
        int rank = factors.rank();
        int cols = factors.cols();
        int rows = factors.rows();
        factors.requireMoments(m, v);
        int parts = RowParts.count(rows);
        float[][] partialA = new float[parts][];
        float[] projectedB = new float[rows * rank];
        float[] packedRight = pack(factors.right(), 2 * rank, cols);
        float[] packedA = pack(factors.a(), rank, cols);
        Object[] mRegions = regions(m);
        Object[] vRegions = regions(v);
        RowParts.run(parts, workers, p -> partialA[p] = new Worker(factors, packedRight, packedA, m, v, mRegions,
                vRegions).rows(RowParts.start(rows, parts, p), RowParts.start(rows, parts, p + 1), projectedB));
        float[] projectedA = partialA[0];
        for (int p = 1; p < parts; p++) {
            add(projectedA, partialA[p]);
        }
        return new float[][] {projectedA, projectedB};
    }

    /**
     * The whole strips of a row-major {@code height} x {@code cols} matrix, strip after strip, each
     * strip row after row: element (k, s STRIP + q) goes to (s height + k) STRIP + q.
     */
    static float[] pack(float[] matrix, int height, int cols) {
        int strips = cols / STRIP;
        float[] packed = new float[strips * height * STRIP];
        for (int s = 0; s < strips; s++) {
            for (int k = 0; k < height; k++) {
                System.arraycopy(matrix, k * cols + s * STRIP, packed, (s * height + k) * STRIP, STRIP);
            }
        }
        return packed;
    }

    /** The buffers of {@code rows} as regions for {@link MomentVectors#ACCESS}. */
    private static Object[] regions(MomentRows rows) {
        Object[] regions = new Object[rows.chunkCount()];
        for (int c = 0; c < regions.length; c++) {
            regions[c] = MomentVectors.ACCESS.region(rows.chunk(c));
        }
        return regions;
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

    /** One row part's scratch and partial B^T u (a part runs on one thread). */
    private static final class Worker {
        private final int rank;
        private final int cols;
        /** Columns covered by whole strips. */
        private final int stripCols;
        private final float[] left;
        private final float[] right;
        private final float[] a;
        private final float[] b;
        private final float[] packedRight;
        private final float[] packedA;
        private final float beta1;
        private final float beta2;
        private final float varianceScale;
        private final float epsilon;
        private final MomentRows mRows;
        private final MomentRows vRows;
        /** The moments' buffers as {@link MomentVectors#region}s, by chunk. */
        private final Object[] mRegions;
        private final Object[] vRegions;
        private final boolean bf16;
        /** This part's B^T u over the whole strips, packed as A is. */
        private final float[] packedProjection;
        /** This part's B^T u (r x n, row major): the scalar columns, then the unpacked strips. */
        private final float[] projectedA;
        /** t, then u, of the group's rows: row g of the group at [g n, (g + 1) n). */
        private final float[] t;
        /** With bf16 moments: the group's new first moments in fp32, laid out as {@link #t}. */
        private final float[] firstMoments;
        /** lanes[(g r + k) L + l]: lane l of row g's partial u_g A_k^T over the whole strips. */
        private final float[] lanes;
        /** tails[g r + k]: the same over the scalar columns. */
        private final float[] tails;

        Worker(FusedStepFactors f, float[] packedRight, float[] packedA, MomentRows mRows, MomentRows vRows,
                Object[] mRegions, Object[] vRegions) {
            rank = f.rank();
            cols = f.cols();
            stripCols = cols / STRIP * STRIP;
            left = f.left();
            right = f.right();
            a = f.a();
            b = f.b();
            this.packedRight = packedRight;
            this.packedA = packedA;
            beta1 = f.beta1();
            beta2 = f.beta2();
            varianceScale = f.varianceScale();
            epsilon = f.epsilon();
            this.mRows = mRows;
            this.vRows = vRows;
            this.mRegions = mRegions;
            this.vRegions = vRegions;
            bf16 = mRows.isBf16();
            packedProjection = new float[packedA.length];
            projectedA = new float[rank * cols];
            t = new float[GROUP * cols];
            firstMoments = bf16 ? new float[GROUP * cols] : null;
            lanes = new float[GROUP * rank * LANES];
            tails = new float[GROUP * rank];
        }

        /** Rows [from, to) in groups, the rows left over one at a time; returns this part's B^T u. */
        float[] rows(int from, int to, float[] projectedB) {
            for (int i = from; i < to; ) {
                int count = to - i >= GROUP ? GROUP : 1;
                Arrays.fill(lanes, 0f);
                Arrays.fill(tails, 0f);
                for (int j = 0; j < stripCols; j += STRIP) {
                    if (count == GROUP) {
                        groupEquivalentGradient(i, j);
                    } else {
                        rowEquivalentGradient(i, j);
                    }
                }
                if (!bf16) {
                    for (int g = 0; g < count; g++) {
                        direction(i + g, g);
                    }
                } else if (inOneChunk(i, count)) {
                    directionBf16(i, count, 0);
                } else {
                    for (int g = 0; g < count; g++) {
                        directionBf16(i + g, 1, g);
                    }
                }
                for (int j = 0; j < stripCols; j += STRIP) {
                    if (count == GROUP) {
                        groupBtu(i, j);
                        if (!UAT_IN_REGISTERS) {
                            groupUatLanes(j);
                        }
                    } else {
                        rowProjections(i, j);
                    }
                }
                if (count == GROUP && UAT_IN_REGISTERS) {
                    groupUatInRegisters();
                }
                for (int g = 0; g < count; g++) {
                    for (int j = stripCols; j < cols; j++) {
                        column(i + g, g, j);
                    }
                    for (int k = 0; k < rank; k++) {
                        int l = g * rank + k;
                        projectedB[(i + g) * rank + k] = sumOfLanes(l * LANES) + tails[l];
                    }
                }
                i += count;
            }
            for (int s = 0; s < stripCols / STRIP; s++) {
                for (int k = 0; k < rank; k++) {
                    System.arraycopy(packedProjection, (s * rank + k) * STRIP, projectedA, k * cols + s * STRIP, STRIP);
                }
            }
            return projectedA;
        }

        /**
         * lanes[from, from + L) summed lane after lane. Not {@code reduceLanes(ADD)}, whose order the
         * Vector API leaves open: it differs between the JIT's code and the interpreter's, so the same
         * step could give results one ulp apart depending on how warm the JVM is.
         */
        private float sumOfLanes(int from) {
            float sum = 0f;
            for (int q = from; q < from + LANES; q++) {
                sum += lanes[q];
            }
            return sum;
        }

        /** t of rows i..i+3 over the strip at column j, row g into t[g n + j, ...). */
        private void groupEquivalentGradient(int i, int j) {
            float[] left = this.left;
            float[] right = packedRight;
            int terms = 2 * rank;
            int l0 = i * terms;
            int l1 = l0 + terms;
            int l2 = l1 + terms;
            int l3 = l2 + terms;
            int r = j / STRIP * terms * STRIP;
            FloatVector q0 = FloatVector.fromArray(FLOATS, right, r);
            FloatVector q1 = FloatVector.fromArray(FLOATS, right, r + LANES);
            FloatVector c = FloatVector.broadcast(FLOATS, left[l0]);
            FloatVector w0 = q0.mul(c);
            FloatVector w1 = q1.mul(c);
            c = FloatVector.broadcast(FLOATS, left[l1]);
            FloatVector x0 = q0.mul(c);
            FloatVector x1 = q1.mul(c);
            c = FloatVector.broadcast(FLOATS, left[l2]);
            FloatVector y0 = q0.mul(c);
            FloatVector y1 = q1.mul(c);
            c = FloatVector.broadcast(FLOATS, left[l3]);
            FloatVector z0 = q0.mul(c);
            FloatVector z1 = q1.mul(c);
            for (int k = 1; k < terms; k++) {
                r += STRIP;
                q0 = FloatVector.fromArray(FLOATS, right, r);
                q1 = FloatVector.fromArray(FLOATS, right, r + LANES);
                c = FloatVector.broadcast(FLOATS, left[l0 + k]);
                w0 = q0.fma(c, w0);
                w1 = q1.fma(c, w1);
                c = FloatVector.broadcast(FLOATS, left[l1 + k]);
                x0 = q0.fma(c, x0);
                x1 = q1.fma(c, x1);
                c = FloatVector.broadcast(FLOATS, left[l2 + k]);
                y0 = q0.fma(c, y0);
                y1 = q1.fma(c, y1);
                c = FloatVector.broadcast(FLOATS, left[l3 + k]);
                z0 = q0.fma(c, z0);
                z1 = q1.fma(c, z1);
            }
            float[] t = this.t;
            int n = cols;
            w0.intoArray(t, j);
            w1.intoArray(t, j + LANES);
            x0.intoArray(t, n + j);
            x1.intoArray(t, n + j + LANES);
            y0.intoArray(t, 2 * n + j);
            y1.intoArray(t, 2 * n + j + LANES);
            z0.intoArray(t, 3 * n + j);
            z1.intoArray(t, 3 * n + j + LANES);
        }

        /** t of row i alone over the strip at column j, into t[j, ...). */
        private void rowEquivalentGradient(int i, int j) {
            float[] left = this.left;
            float[] right = packedRight;
            int terms = 2 * rank;
            int li = i * terms;
            int r = j / STRIP * terms * STRIP;
            FloatVector c = FloatVector.broadcast(FLOATS, left[li]);
            FloatVector x0 = FloatVector.fromArray(FLOATS, right, r).mul(c);
            FloatVector x1 = FloatVector.fromArray(FLOATS, right, r + LANES).mul(c);
            for (int k = 1; k < terms; k++) {
                r += STRIP;
                c = FloatVector.broadcast(FLOATS, left[li + k]);
                x0 = FloatVector.fromArray(FLOATS, right, r).fma(c, x0);
                x1 = FloatVector.fromArray(FLOATS, right, r + LANES).fma(c, x1);
            }
            x0.intoArray(t, j);
            x1.intoArray(t, j + LANES);
        }

        /** (B^T u)_k of the strip at column j gets the terms of rows i..i+3, in row order. */
        private void groupBtu(int i, int j) {
            float[] t = this.t;
            int n = cols;
            FloatVector w0 = FloatVector.fromArray(FLOATS, t, j);
            FloatVector w1 = FloatVector.fromArray(FLOATS, t, j + LANES);
            FloatVector x0 = FloatVector.fromArray(FLOATS, t, n + j);
            FloatVector x1 = FloatVector.fromArray(FLOATS, t, n + j + LANES);
            FloatVector y0 = FloatVector.fromArray(FLOATS, t, 2 * n + j);
            FloatVector y1 = FloatVector.fromArray(FLOATS, t, 2 * n + j + LANES);
            FloatVector z0 = FloatVector.fromArray(FLOATS, t, 3 * n + j);
            FloatVector z1 = FloatVector.fromArray(FLOATS, t, 3 * n + j + LANES);
            float[] pa = packedProjection;
            float[] b = this.b;
            int b0 = i * rank;
            int p = j / STRIP * rank * STRIP;
            for (int k = 0; k < rank; k++, p += STRIP) {
                FloatVector bw = FloatVector.broadcast(FLOATS, b[b0 + k]);
                FloatVector bx = FloatVector.broadcast(FLOATS, b[b0 + rank + k]);
                FloatVector by = FloatVector.broadcast(FLOATS, b[b0 + 2 * rank + k]);
                FloatVector bz = FloatVector.broadcast(FLOATS, b[b0 + 3 * rank + k]);
                z0.fma(bz, y0.fma(by, x0.fma(bx, w0.fma(bw, FloatVector.fromArray(FLOATS, pa, p))))).intoArray(pa, p);
                z1.fma(bz, y1.fma(by, x1.fma(bx, w1.fma(bw, FloatVector.fromArray(FLOATS, pa, p + LANES)))))
                        .intoArray(pa, p + LANES);
            }
        }

        /** Each row's u_g A_k^T lanes of the group get the strip at column j (kept in memory). */
        private void groupUatLanes(int j) {
            float[] t = this.t;
            int n = cols;
            FloatVector w0 = FloatVector.fromArray(FLOATS, t, j);
            FloatVector w1 = FloatVector.fromArray(FLOATS, t, j + LANES);
            FloatVector x0 = FloatVector.fromArray(FLOATS, t, n + j);
            FloatVector x1 = FloatVector.fromArray(FLOATS, t, n + j + LANES);
            FloatVector y0 = FloatVector.fromArray(FLOATS, t, 2 * n + j);
            FloatVector y1 = FloatVector.fromArray(FLOATS, t, 2 * n + j + LANES);
            FloatVector z0 = FloatVector.fromArray(FLOATS, t, 3 * n + j);
            FloatVector z1 = FloatVector.fromArray(FLOATS, t, 3 * n + j + LANES);
            float[] a = packedA;
            float[] lanes = this.lanes;
            int p = j / STRIP * rank * STRIP;
            int rowLanes = rank * LANES;
            for (int k = 0; k < rank; k++, p += STRIP) {
                FloatVector a0 = FloatVector.fromArray(FLOATS, a, p);
                FloatVector a1 = FloatVector.fromArray(FLOATS, a, p + LANES);
                int s = k * LANES;
                w1.fma(a1, w0.fma(a0, FloatVector.fromArray(FLOATS, lanes, s))).intoArray(lanes, s);
                s += rowLanes;
                x1.fma(a1, x0.fma(a0, FloatVector.fromArray(FLOATS, lanes, s))).intoArray(lanes, s);
                s += rowLanes;
                y1.fma(a1, y0.fma(a0, FloatVector.fromArray(FLOATS, lanes, s))).intoArray(lanes, s);
                s += rowLanes;
                z1.fma(a1, z0.fma(a0, FloatVector.fromArray(FLOATS, lanes, s))).intoArray(lanes, s);
            }
        }

        /**
         * Each row's u_g A_k^T lanes of the group over all whole strips, four k at a time in
         * registers, the k left over one at a time: the same sums in the same order as {@link
         * #groupUatLanes}, without a load and a store per row, k and strip.
         */
        private void groupUatInRegisters() {
            float[] t = this.t;
            float[] a = packedA;
            int n = cols;
            int rowLanes = rank * LANES;
            int k = 0;
            for (; k + 4 <= rank; k += 4) {
                FloatVector w0 = FloatVector.zero(FLOATS);
                FloatVector w1 = w0;
                FloatVector w2 = w0;
                FloatVector w3 = w0;
                FloatVector x0 = w0;
                FloatVector x1 = w0;
                FloatVector x2 = w0;
                FloatVector x3 = w0;
                FloatVector y0 = w0;
                FloatVector y1 = w0;
                FloatVector y2 = w0;
                FloatVector y3 = w0;
                FloatVector z0 = w0;
                FloatVector z1 = w0;
                FloatVector z2 = w0;
                FloatVector z3 = w0;
                for (int j = 0; j < stripCols; j += STRIP) {
                    int p = (j / STRIP * rank + k) * STRIP;
                    FloatVector a00 = FloatVector.fromArray(FLOATS, a, p);
                    FloatVector a01 = FloatVector.fromArray(FLOATS, a, p + LANES);
                    FloatVector a10 = FloatVector.fromArray(FLOATS, a, p + STRIP);
                    FloatVector a11 = FloatVector.fromArray(FLOATS, a, p + STRIP + LANES);
                    FloatVector a20 = FloatVector.fromArray(FLOATS, a, p + 2 * STRIP);
                    FloatVector a21 = FloatVector.fromArray(FLOATS, a, p + 2 * STRIP + LANES);
                    FloatVector a30 = FloatVector.fromArray(FLOATS, a, p + 3 * STRIP);
                    FloatVector a31 = FloatVector.fromArray(FLOATS, a, p + 3 * STRIP + LANES);
                    FloatVector u0 = FloatVector.fromArray(FLOATS, t, j);
                    FloatVector u1 = FloatVector.fromArray(FLOATS, t, j + LANES);
                    w0 = u1.fma(a01, u0.fma(a00, w0));
                    w1 = u1.fma(a11, u0.fma(a10, w1));
                    w2 = u1.fma(a21, u0.fma(a20, w2));
                    w3 = u1.fma(a31, u0.fma(a30, w3));
                    u0 = FloatVector.fromArray(FLOATS, t, n + j);
                    u1 = FloatVector.fromArray(FLOATS, t, n + j + LANES);
                    x0 = u1.fma(a01, u0.fma(a00, x0));
                    x1 = u1.fma(a11, u0.fma(a10, x1));
                    x2 = u1.fma(a21, u0.fma(a20, x2));
                    x3 = u1.fma(a31, u0.fma(a30, x3));
                    u0 = FloatVector.fromArray(FLOATS, t, 2 * n + j);
                    u1 = FloatVector.fromArray(FLOATS, t, 2 * n + j + LANES);
                    y0 = u1.fma(a01, u0.fma(a00, y0));
                    y1 = u1.fma(a11, u0.fma(a10, y1));
                    y2 = u1.fma(a21, u0.fma(a20, y2));
                    y3 = u1.fma(a31, u0.fma(a30, y3));
                    u0 = FloatVector.fromArray(FLOATS, t, 3 * n + j);
                    u1 = FloatVector.fromArray(FLOATS, t, 3 * n + j + LANES);
                    z0 = u1.fma(a01, u0.fma(a00, z0));
                    z1 = u1.fma(a11, u0.fma(a10, z1));
                    z2 = u1.fma(a21, u0.fma(a20, z2));
                    z3 = u1.fma(a31, u0.fma(a30, z3));
                }
                // stored here, not by a helper: a vector passed to a call the JIT does not inline is boxed
                int s = k * LANES;
                w0.intoArray(lanes, s);
                w1.intoArray(lanes, s + LANES);
                w2.intoArray(lanes, s + 2 * LANES);
                w3.intoArray(lanes, s + 3 * LANES);
                s += rowLanes;
                x0.intoArray(lanes, s);
                x1.intoArray(lanes, s + LANES);
                x2.intoArray(lanes, s + 2 * LANES);
                x3.intoArray(lanes, s + 3 * LANES);
                s += rowLanes;
                y0.intoArray(lanes, s);
                y1.intoArray(lanes, s + LANES);
                y2.intoArray(lanes, s + 2 * LANES);
                y3.intoArray(lanes, s + 3 * LANES);
                s += rowLanes;
                z0.intoArray(lanes, s);
                z1.intoArray(lanes, s + LANES);
                z2.intoArray(lanes, s + 2 * LANES);
                z3.intoArray(lanes, s + 3 * LANES);
            }
            for (; k < rank; k++) {
                for (int g = 0; g < GROUP; g++) {
                    FloatVector sum = FloatVector.zero(FLOATS);
                    for (int j = 0; j < stripCols; j += STRIP) {
                        int p = (j / STRIP * rank + k) * STRIP;
                        sum = FloatVector.fromArray(FLOATS, t, g * n + j + LANES).fma(
                                FloatVector.fromArray(FLOATS, a, p + LANES),
                                FloatVector.fromArray(FLOATS, t, g * n + j).fma(FloatVector.fromArray(FLOATS, a, p), sum));
                    }
                    sum.intoArray(lanes, g * rowLanes + k * LANES);
                }
            }
        }

        /** Both projections of row i alone over the strip at column j. */
        private void rowProjections(int i, int j) {
            FloatVector x0 = FloatVector.fromArray(FLOATS, t, j);
            FloatVector x1 = FloatVector.fromArray(FLOATS, t, j + LANES);
            float[] pa = packedProjection;
            float[] a = packedA;
            int bi = i * rank;
            int p = j / STRIP * rank * STRIP;
            for (int k = 0; k < rank; k++, p += STRIP) {
                FloatVector bk = FloatVector.broadcast(FLOATS, b[bi + k]);
                x0.fma(bk, FloatVector.fromArray(FLOATS, pa, p)).intoArray(pa, p);
                x1.fma(bk, FloatVector.fromArray(FLOATS, pa, p + LANES)).intoArray(pa, p + LANES);
                int s = k * LANES;
                x1.fma(FloatVector.fromArray(FLOATS, a, p + LANES),
                        x0.fma(FloatVector.fromArray(FLOATS, a, p), FloatVector.fromArray(FLOATS, lanes, s)))
                        .intoArray(lanes, s);
            }
        }

        /** Whether rows i..i+count-1 of both moments lie in one buffer each, as {@link #directionBf16} needs. */
        private boolean inOneChunk(int i, int count) {
            long first = (long) i * cols;
            long last = (long) (i + count - 1) * cols;
            return mRows.chunkOf(first) == mRows.chunkOf(last) && vRows.chunkOf(first) == vRows.chunkOf(last);
        }

        /**
         * The fp32 moments of row {@code row} over its whole strips, updated in place in their tensors
         * with row {@code tRow} of t, which becomes u = m / (sqrt(v) + eps'). One row per call (a row always
         * lies in one buffer: {@link MomentRows}' chunks hold whole rows): with the group's rows
         * side by side (a loop over them inside the loop over the columns, as the bf16 sweep has),
         * the JIT's code for the memory-segment loads took up to twice as long on Java 25 on a Zen 3
         * (the whole pass 1.1-1.2 times); with Java 17's byte-buffer loads both took about the same
         * time. (fp32 and bf16 have a method each, so that a JIT profile of
         * one never deoptimises the other.)
         */
        private void direction(int row, int tRow) {
            long offset = (long) row * cols;
            MomentVectors access = MomentVectors.ACCESS;
            Object mr = mRegions[mRows.chunkOf(offset)];
            Object vr = vRegions[vRows.chunkOf(offset)];
            long mi = mRows.byteIndex(offset);
            long vi = vRows.byteIndex(offset);
            float[] t = this.t;
            int t0 = tRow * cols;
            FloatVector b1 = FloatVector.broadcast(FLOATS, beta1);
            FloatVector b2 = FloatVector.broadcast(FLOATS, beta2);
            FloatVector scale = FloatVector.broadcast(FLOATS, varianceScale);
            FloatVector eps = FloatVector.broadcast(FLOATS, epsilon);
            for (int j = 0; j < stripCols; j += LANES) {
                long mj = mi + (long) j * Float.BYTES;
                long vj = vi + (long) j * Float.BYTES;
                FloatVector x = FloatVector.fromArray(FLOATS, t, t0 + j);
                FloatVector m = access.loadFloats(FLOATS, mr, mj).fma(b1, x);
                FloatVector v = access.loadFloats(FLOATS, vr, vj).fma(b2, x.mul(x).mul(scale));
                access.storeFloats(m, mr, mj);
                access.storeFloats(v, vr, vj);
                m.div(v.sqrt().add(eps)).intoArray(t, t0 + j);
            }
        }

        /**
         * {@link #direction} for bf16 moments, converted in registers: the first moments in one sweep,
         * their new values kept in {@link #firstMoments}, then the second moments and u in another.
         * In one sweep, as fp32 has it, the conversions made the method too large for the JIT to
         * inline the last store (HotSpot's NodeCountInliningCutoff): the vector was then boxed at
         * every call, and the bf16 step took up to twice as long as the fp32 one.
         */
        private void directionBf16(int first, int count, int tRow) {
            long offset = (long) first * cols;
            firstMomentsBf16(mRegions[mRows.chunkOf(offset)], mRows.byteIndex(offset), count, tRow);
            secondMomentsBf16(vRegions[vRows.chunkOf(offset)], vRows.byteIndex(offset), count, tRow);
        }

        /**
         * m = beta1 m + t for rows tRow..tRow+count-1 of t, stored as bf16 and kept in fp32 in {@link
         * #firstMoments}.
         */
        private void firstMomentsBf16(Object mr, long mi, int count, int tRow) {
            MomentVectors access = MomentVectors.ACCESS;
            long rowBytes = (long) cols * Short.BYTES;
            float[] t = this.t;
            float[] kept = firstMoments;
            FloatVector b1 = FloatVector.broadcast(FLOATS, beta1);
            for (int j = 0; j < stripCols; j += LANES) {
                for (int g = 0; g < count; g++) {
                    int tj = (tRow + g) * cols + j;
                    long mj = mi + g * rowBytes + (long) j * Short.BYTES;
                    FloatVector x = FloatVector.fromArray(FLOATS, t, tj);
                    FloatVector m = decode(access.loadShorts(SHORTS, mr, mj)).fma(b1, x);
                    access.storeShorts(encode(m, false), mr, mj);
                    m.intoArray(kept, tj);
                }
            }
        }

        /** v = beta2 v + scale t^2, stored as bf16, and t becoming u = m / (sqrt(v) + eps'). */
        private void secondMomentsBf16(Object vr, long vi, int count, int tRow) {
            MomentVectors access = MomentVectors.ACCESS;
            long rowBytes = (long) cols * Short.BYTES;
            float[] t = this.t;
            float[] kept = firstMoments;
            FloatVector b2 = FloatVector.broadcast(FLOATS, beta2);
            FloatVector scale = FloatVector.broadcast(FLOATS, varianceScale);
            FloatVector eps = FloatVector.broadcast(FLOATS, epsilon);
            for (int j = 0; j < stripCols; j += LANES) {
                for (int g = 0; g < count; g++) {
                    int tj = (tRow + g) * cols + j;
                    long vj = vi + g * rowBytes + (long) j * Short.BYTES;
                    FloatVector x = FloatVector.fromArray(FLOATS, t, tj);
                    FloatVector v = decode(access.loadShorts(SHORTS, vr, vj)).fma(b2, x.mul(x).mul(scale));
                    access.storeShorts(encode(v, true), vr, vj);
                    FloatVector.fromArray(FLOATS, kept, tj).div(v.sqrt().add(eps)).intoArray(t, tj);
                }
            }
        }

        /** Element (i, j) past the whole strips, in scalars; i is row g of its group. */
        private void column(int i, int g, int j) {
            int terms = 2 * rank;
            float tij = 0;
            for (int q = 0; q < terms; q++) {
                tij = Math.fma(left[i * terms + q], right[q * cols + j], tij);
            }
            long offset = (long) i * cols + j;
            ByteBuffer mb = mRows.bytesOf(offset);
            ByteBuffer vb = vRows.bytesOf(offset);
            int mi = mRows.byteIndex(offset);
            int vi = vRows.byteIndex(offset);
            float m = Math.fma(bf16 ? Bf16.decode(mb.getShort(mi)) : mb.getFloat(mi), beta1, tij);
            float v = Math.fma(bf16 ? Bf16.decode(vb.getShort(vi)) : vb.getFloat(vi), beta2, tij * tij * varianceScale);
            if (bf16) {
                mb.putShort(mi, Bf16.encode(m));
                vb.putShort(vi, Bf16.encodeVariance(v));
            } else {
                mb.putFloat(mi, m);
                vb.putFloat(vi, v);
            }
            float u = m / ((float) Math.sqrt(v) + epsilon);
            for (int k = 0; k < rank; k++) {
                int p = k * cols + j;
                projectedA[p] = Math.fma(b[i * rank + k], u, projectedA[p]);
                tails[g * rank + k] = Math.fma(u, a[p], tails[g * rank + k]);
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
            // a positive value (positive int bits) that rounded to zero becomes the smallest positive
            // bf16, 1: max(rounded, min(bits, 1)) raises only that case (0 stays 0; negative bits
            // give a negative bound; every other rounded pattern is at least 1)
            rounded = rounded.max(x.min(Bf16.MIN_POSITIVE));
        }
        return (ShortVector) rounded.convertShape(VectorOperators.I2S, SHORTS, 0);
    }
}
