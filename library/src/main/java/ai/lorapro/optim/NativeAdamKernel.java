package ai.lorapro.optim;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;
import java.util.Random;

/**
 * The m x n pass of a fused full-mode step ({@link FusedAdamKernel} states the algebra) in C with
 * AVX2 and FMA ({@code library/src/main/c/lorapro_fused.c}), for fp32 and bf16 moments: the same three
 * phases per group of four rows as {@link VectorAdamKernel}, reading and writing the moments in
 * place in the tensors' memory through the direct buffers of {@link MomentRows}. On a machine
 * without AVX-512 the JIT's loops over the moments ran at 1.3-2.7x the time of the same loops in C
 * (docs/benchmarks.md, "Zen 3 again").
 *
 * <p>The library ships the shared object for Linux on x86-64 inside its jar (built where gcc is
 * found, see library/pom.xml); {@link #load} copies it into a new directory that only this user can
 * read, loads it, and checks it, and {@link FusedKernels} falls back to the Java kernels where any
 * of that fails. Threads are Java's: the rows are split into the same parts as in the Java kernels
 * (a number that depends on m only), each part calls the native code for its rows, and the parts'
 * B^T u are added in part order in C, so the result does not depend on the thread count.
 */
final class NativeAdamKernel implements MomentKernel {

    /** The shared object, next to this class in the jar. */
    static final String RESOURCE = "native/linux-x86_64/liblorapro_fused.so";

    private NativeAdamKernel() {}

    /**
     * Loads the shared object and checks it against loops in double on a small step, with fp32 and
     * with bf16 moments.
     *
     * @return the kernel
     * @throws IllegalStateException naming what is missing or wrong (no shared object for this
     *     platform, a CPU without AVX2 and FMA, a failed check)
     */
    static NativeAdamKernel load() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new IllegalStateException("the native kernel is built for Linux on x86-64 only, this is "
                    + System.getProperty("os.name") + " on " + arch);
        }
        try (InputStream in = NativeAdamKernel.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("this build of the library has no native kernel (it is built where gcc "
                        + "is found; see docs/install.md)");
            }
            // a directory only this user can write: no one else can swap the file before it is loaded
            Path dir = Files.createTempDirectory("lorapro-native-",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            Path library = dir.resolve("liblorapro_fused.so");
            try {
                Files.copy(in, library, StandardCopyOption.REPLACE_EXISTING);
                System.load(library.toAbsolutePath().toString());
            } finally {
                // once loaded, the mapping outlives the file; a copy that cannot be deleted is no failure to load
                deleteQuietly(library);
                deleteQuietly(dir);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot unpack the native kernel: " + e, e);
        }
        if (!cpuSupported()) {
            throw new IllegalStateException("the native kernel needs AVX2 and FMA, which this CPU lacks");
        }
        NativeAdamKernel kernel = new NativeAdamKernel();
        for (boolean bf16 : new boolean[] {false, true}) {
            if (!kernel.check(bf16)) {
                throw new IllegalStateException("the native kernel disagrees with loops in double on a small step with "
                        + (bf16 ? "bf16" : "fp32") + " moments");
            }
        }
        return kernel;
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            path.toFile().deleteOnExit();
        }
    }

    @Override
    public String toString() {
        return "native kernel (C, AVX2 and FMA)";
    }

    @Override
    public float[][] run(FusedStepFactors factors, MomentRows m, MomentRows v, int workers) {
        int rank = factors.rank();
        int cols = factors.cols();
        int rows = factors.rows();
        factors.requireMoments(m, v);
        int parts = RowParts.count(rows);
        long handle = open(rows, cols, rank, parts, m.isBf16(), factors.left(), factors.right(), factors.a(),
                factors.b(), factors.beta1(), factors.beta2(), factors.varianceScale(), factors.epsilon());
        try {
            // a part's failure is kept until every part has returned: the handle is freed only then
            Throwable[] failures = new Throwable[parts];
            RowParts.run(parts, workers, p -> {
                try {
                    part(handle, p, RowParts.start(rows, parts, p), RowParts.start(rows, parts, p + 1), m, v);
                } catch (RuntimeException | Error e) {
                    failures[p] = e;
                }
            });
            for (Throwable failure : failures) {
                if (failure instanceof RuntimeException) {
                    throw (RuntimeException) failure;
                } else if (failure != null) {
                    throw (Error) failure;
                }
            }
            float[] projectedA = new float[rank * cols];
            float[] projectedB = new float[rows * rank];
            finish(handle, projectedA, projectedB);
            return new float[][] {projectedA, projectedB};
        } finally {
            release(handle);
        }
    }

    /** Rows [from, to) of part {@code part}, one native call per stretch that lies in one buffer of each moment. */
    private static void part(long handle, int part, int from, int to, MomentRows m, MomentRows v) {
        int cols = m.cols();
        for (int i = from; i < to; ) {
            int count = (int) Math.min(to - i, Math.min(m.rowsInChunkFrom(i), v.rowsInChunkFrom(i)));
            long offset = (long) i * cols;
            rows(handle, part, i, count, m.bytesOf(offset), m.byteIndex(offset), v.bytesOf(offset), v.byteIndex(offset));
            i += count;
        }
    }

    /**
     * Whether one step on a 23 x 45 matrix at r = 3 (odd sizes, so that the leftover rows and
     * columns run too), with moments stored as {@code bf16} says, agrees with loops in double: each
     * output (m, v, B^T u, u A^T) within 1e-5 of its largest value, bf16 moments within 1e-2 (one
     * bf16 rounding is at most 2^-8 of a value).
     */
    private boolean check(boolean bf16) {
        int rows = 23;
        int cols = 45;
        int rank = 3;
        int size = bf16 ? Short.BYTES : Float.BYTES;
        Random random = new Random(7);
        float[] left = floats(random, rows * 2 * rank, 1);
        float[] right = floats(random, 2 * rank * cols, 1);
        float[] a = floats(random, rank * cols, 1);
        float[] b = floats(random, rows * rank, 1);
        float[] m0 = floats(random, rows * cols, 1e-2);
        float[] v0 = floats(random, rows * cols, 1e-4);
        ByteBuffer mBytes = ByteBuffer.allocateDirect(rows * cols * size).order(ByteOrder.nativeOrder());
        ByteBuffer vBytes = ByteBuffer.allocateDirect(rows * cols * size).order(ByteOrder.nativeOrder());
        for (int x = 0; x < v0.length; x++) {
            v0[x] = Math.abs(v0[x]);
            if (bf16) {
                // what the kernel reads: the stored bf16 values
                short mBits = Bf16.encode(m0[x]);
                short vBits = Bf16.encodeVariance(v0[x]);
                m0[x] = Bf16.decode(mBits);
                v0[x] = Bf16.decode(vBits);
                mBytes.putShort(x * size, mBits);
                vBytes.putShort(x * size, vBits);
            } else {
                mBytes.putFloat(x * size, m0[x]);
                vBytes.putFloat(x * size, v0[x]);
            }
        }
        FusedStepFactors factors = FusedStepFactors.of(rank, cols, left, right, a, b, 0.9, 0.999, 1e-8);
        long handle = open(rows, cols, rank, 2, bf16, left, right, a, b, factors.beta1(), factors.beta2(),
                factors.varianceScale(), factors.epsilon());
        float[] btu = new float[rank * cols];
        float[] uat = new float[rows * rank];
        try {
            rows(handle, 0, 0, 11, mBytes, 0, vBytes, 0);
            rows(handle, 1, 11, rows - 11, mBytes, 11L * cols * size, vBytes, 11L * cols * size);
            finish(handle, btu, uat);
        } finally {
            release(handle);
        }
        double[] m = new double[rows * cols];
        double[] v = new double[rows * cols];
        double[] btuRef = new double[rank * cols];
        double[] uatRef = new double[rows * rank];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double t = 0;
                for (int q = 0; q < 2 * rank; q++) {
                    t += (double) left[i * 2 * rank + q] * right[q * cols + j];
                }
                int x = i * cols + j;
                m[x] = factors.beta1() * (double) m0[x] + t;
                v[x] = factors.beta2() * (double) v0[x] + factors.varianceScale() * t * t;
                double u = m[x] / (Math.sqrt(v[x]) + factors.epsilon());
                for (int k = 0; k < rank; k++) {
                    btuRef[k * cols + j] += b[i * rank + k] * u;
                    uatRef[i * rank + k] += u * a[k * cols + j];
                }
            }
        }
        float[] mGot = new float[rows * cols];
        float[] vGot = new float[rows * cols];
        for (int x = 0; x < mGot.length; x++) {
            mGot[x] = bf16 ? Bf16.decode(mBytes.getShort(x * size)) : mBytes.getFloat(x * size);
            vGot[x] = bf16 ? Bf16.decode(vBytes.getShort(x * size)) : vBytes.getFloat(x * size);
        }
        double momentBound = bf16 ? 1e-2 : 1e-5;
        return error(m, mGot) <= momentBound && error(v, vGot) <= momentBound && error(btuRef, btu) <= 1e-5
                && error(uatRef, uat) <= 1e-5;
    }

    private static float[] floats(Random random, int count, double scale) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) ((random.nextDouble() - 0.5) * scale);
        }
        return x;
    }

    /** The largest |actual - expected|, relative to the largest |expected|. */
    private static double error(double[] expected, float[] actual) {
        double worst = 0;
        double largest = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
            largest = Math.max(largest, Math.abs(expected[i]));
        }
        return worst / largest;
    }

    /** Whether the CPU has AVX2 and FMA. */
    private static native boolean cpuSupported();

    /**
     * Copies and packs one step's factors, for moments stored as {@code bf16} says; returns a handle
     * for {@link #rows}, {@link #finish} and {@link #release}.
     */
    private static native long open(int rows, int cols, int rank, int parts, boolean bf16, float[] left, float[] right,
            float[] a, float[] b, float beta1, float beta2, float varianceScale, float epsilon);

    /**
     * Rows [first, first + count) of part {@code part}: their moments from byte {@code mAt} of
     * {@code m} and {@code vAt} of {@code v} (direct buffers over fp32 or bf16 moments, native order).
     */
    private static native void rows(long handle, int part, int first, int count, ByteBuffer m, long mAt, ByteBuffer v,
            long vAt);

    /** Adds the parts' B^T u in order into {@code btu} (r x n) and copies u A^T into {@code uat} (m x r). */
    private static native void finish(long handle, float[] btu, float[] uat);

    /** Frees the handle's memory. */
    private static native void release(long handle);
}
