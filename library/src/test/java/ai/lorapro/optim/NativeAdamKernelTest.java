package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ShortBuffer;
import java.util.Random;

/**
 * The native kernel of the fused step ({@link NativeAdamKernel}) and its place in the dispatch
 * ({@link FusedKernels}): where the build compiled it the tests' JVM runs it by default, one pass
 * agrees with the plain loops (fp32 and bf16 moments), and its result depends neither on the thread
 * count nor on how the moments are split into buffers. (Its agreement with the plain loops over 20 optimizer steps:
 * {@link FusedFullAdamStepTest}; the golden trajectories run on it by default.)
 */
class NativeAdamKernelTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void theTestJvmRunsTheNativeKernelWhereTheBuildCompiledIt() {
        if (Boolean.getBoolean("lorapro.native.built")) {
            // the build compiled it (Linux x86-64 with gcc): it must load here, or every fused-step
            // test would silently run the Java kernels
            assertTrue(FusedKernels.nativeAvailable(), "the native kernel did not load: " + FusedKernels.nativeFailure());
            assertNull(FusedKernels.nativeFailure());
            assertEquals("native", VectorAdamKernelTest.withKernel(null, FusedKernels::active));
            assertEquals("native", VectorAdamKernelTest.withKernel(" Native ", FusedKernels::active));
        } else if (!FusedKernels.nativeAvailable()) {
            // (a native kernel left in target/classes by an earlier build may still load: then nothing to check here)
            assertNotNull(FusedKernels.nativeFailure());
            assertNotEquals("native", VectorAdamKernelTest.withKernel(null, FusedKernels::active));
            assertThrows(InvalidInputException.class, () -> VectorAdamKernelTest.withKernel("native", FusedKernels::active));
        }
    }

    /**
     * One pass on the native kernel against the plain loops: each output within 1e-5 of its
     * largest value. The shapes run leftover columns (n not a multiple of 16), leftover rows (m not
     * a multiple of 4), a single row part (m &lt; 32), r = 1 and r = 64.
     */
    @ParameterizedTest(name = "{0}x{1} r={2} bf16={3}")
    @CsvSource({
        "203, 1100, 8, false", "37, 45, 3, false", "5, 17, 2, false", "130, 2048, 1, false", "20, 100, 64, false",
        "64, 64, 8, false", "203, 1100, 8, true", "37, 45, 3, true", "5, 17, 2, true", "20, 100, 64, true"
    })
    void onePassAgreesWithThePlainLoops(int rows, int cols, int rank, boolean bf16) {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        float[][] expected = KernelPass.run(manager, "scalar", rows, cols, rank, bf16, 2);
        float[][] actual = KernelPass.run(manager, "native", rows, cols, rank, bf16, 2);
        String[] names = {"m", "v", "B^T u", "u A^T"};
        for (int i = 0; i < expected.length; i++) {
            // bf16 moments: where the two kernels' fp32 values straddle a rounding boundary, the stored
            // values are one bf16 ulp apart (2^-8 relative); the projections use the fp32 values
            double bound = bf16 && i < 2 ? 1e-3 : 1e-5;
            double error = relativeError(expected[i], actual[i]);
            assertTrue(error <= bound, names[i] + ": relative difference " + error);
        }
    }

    /**
     * bf16 storage is bit for bit {@link Bf16}'s, in the vector body and the scalar tail: with zero
     * moments, left = (1, 0) and right's first row = x, the pass stores m = x and v = x^2 scale,
     * which must be {@code Bf16.encode(x)} and {@code Bf16.encodeVariance(x * x * scale)}. The
     * special values go both at the start (vector body) and at the end (the last 15 columns are the
     * scalar tail); among them NaNs that plain rounding would turn into another pattern (0x7FFFFFFF
     * into 0x8000) and a value whose second moment rounds to zero (1.5e-20).
     */
    @Test
    void bf16StorageIsThatOfBf16BitForBit() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        Random rng = new Random(5);
        int cols = 1000 + 7; // whole strips and a scalar tail
        float[] values = new float[cols];
        for (int j = 0; j < cols; j++) {
            // + 0f: a draw that underflows to -0 becomes +0 (the pass forms t = 1 x + 0 0, +0 for x = -0)
            values[j] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(70) - 45)) + 0f;
        }
        float[] special = {
            Float.intBitsToFloat(0x3F818000), Float.intBitsToFloat(0xBF818000), Float.intBitsToFloat(0x3FFFFFFF),
            Float.NaN, Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFC00001), Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 0f,
            1e-41f, 9.2e-41f, Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x00007FFF),
            Float.intBitsToFloat(0x00008000), Float.intBitsToFloat(0x00008001), Float.intBitsToFloat(0x80008001),
            // the last 15 land in the scalar tail: these four must be among them
            Float.intBitsToFloat(0x7FFFFFFF), Float.intBitsToFloat(0x7FC18000), Float.intBitsToFloat(0xFFFFFFFF), 1.5e-20f
        };
        System.arraycopy(special, 0, values, 3, special.length);
        System.arraycopy(special, 0, values, cols - special.length, special.length);
        float[] right = new float[2 * cols];
        System.arraycopy(values, 0, right, 0, cols);
        FusedAdamKernel pass = new FusedAdamKernel(1, cols, new float[] {1f, 0f}, right, new float[cols],
                new float[] {0f}, 0.9, 0.999, 1e-8);
        float scale = FusedStepFactors.of(1, cols, new float[] {1f, 0f}, right, new float[cols], new float[] {0f},
                0.9, 0.999, 1e-8).varianceScale();
        try (NDManager scope = manager.newSubManager()) {
            NDArray m = scope.zeros(MomentRows.packedShape(new Shape(1, cols)), DataType.UINT8);
            NDArray v = scope.zeros(MomentRows.packedShape(new Shape(1, cols)), DataType.UINT8);
            MomentRows mRows = MomentRows.of(m);
            MomentRows vRows = MomentRows.of(v);
            VectorAdamKernelTest.withKernel("native", () -> pass.run(mRows, vRows, 1));
            ShortBuffer mBits = mRows.chunk(0).asShortBuffer();
            ShortBuffer vBits = vRows.chunk(0).asShortBuffer();
            for (int j = 0; j < cols; j++) {
                float x = values[j];
                assertEquals(Bf16.encode(x), mBits.get(j), "m for " + x + " at " + j);
                assertEquals(Bf16.encodeVariance(x * x * scale), vBits.get(j), "v for " + x + " at " + j);
            }
        }
    }

    /** A run resumed on a machine with another core count continues bit for bit. */
    @Test
    void theResultDoesNotDependOnTheNumberOfThreads() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        for (boolean bf16 : new boolean[] {false, true}) {
            float[][] one = KernelPass.run(manager, "native", 203, 1100, 8, bf16, 1);
            for (int workers : new int[] {2, 4, 7}) {
                float[][] many = KernelPass.run(manager, "native", 203, 1100, 8, bf16, workers);
                for (int i = 0; i < one.length; i++) {
                    assertArrayEquals(one[i], many[i], 0f, "output " + i + (bf16 ? " (bf16)" : "") + ", " + workers + " workers");
                }
            }
        }
    }

    @Test
    void rowsSplitOverSeveralMomentBuffersGiveTheSameResult() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        for (boolean bf16 : new boolean[] {false, true}) {
            float[][] whole = KernelPass.run(manager, "native", 203, 1100, 8, bf16, 2);
            // buffers of 7 rows: a call's rows end at each buffer's end, mid-part and mid-group
            long rowBytes = 1100L * (bf16 ? Short.BYTES : Float.BYTES);
            float[][] split = KernelPass.run(manager, "native", 203, 1100, 8, bf16, 2, 7 * rowBytes);
            for (int i = 0; i < whole.length; i++) {
                assertArrayEquals(whole[i], split[i], 0f, "output " + i + (bf16 ? " (bf16)" : ""));
            }
        }
    }

    /** The largest absolute difference, relative to the largest |expected|. */
    private static double relativeError(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        double worst = 0;
        double largest = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs((double) actual[i] - expected[i]));
            largest = Math.max(largest, Math.abs(expected[i]));
        }
        return worst / largest;
    }
}
