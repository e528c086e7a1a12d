package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDManager;
import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The native kernel of the fused step ({@link NativeAdamKernel}) and its place in the dispatch
 * ({@link FusedKernels}): where the build compiled it the tests' JVM runs it by default, one pass
 * agrees with the plain loops, and its result depends neither on the thread count nor on how the
 * moments are split into buffers. (Its agreement with the plain loops over 20 optimizer steps:
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

    @Test
    void bf16MomentsRunOnTheJavaKernels() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        assertNotEquals("native", VectorAdamKernelTest.withKernel("auto", () -> FusedKernels.active(true)));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> VectorAdamKernelTest.withKernel("native", () -> FusedKernels.active(true)));
        assertTrue(e.getMessage().contains("fp32 moments only"), e.getMessage());
    }

    /**
     * One pass on the native kernel against the plain loops: each output within 1e-5 of its
     * largest value. The shapes run leftover columns (n not a multiple of 16), leftover rows (m not
     * a multiple of 4), a single row part (m &lt; 32), r = 1 and r = 64.
     */
    @ParameterizedTest(name = "{0}x{1} r={2}")
    @CsvSource({"203, 1100, 8", "37, 45, 3", "5, 17, 2", "130, 2048, 1", "20, 100, 64", "64, 64, 8"})
    void onePassAgreesWithThePlainLoops(int rows, int cols, int rank) {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        float[][] expected = KernelPass.run(manager, "scalar", rows, cols, rank, false, 2);
        float[][] actual = KernelPass.run(manager, "native", rows, cols, rank, false, 2);
        String[] names = {"m", "v", "B^T u", "u A^T"};
        for (int i = 0; i < expected.length; i++) {
            double error = relativeError(expected[i], actual[i]);
            assertTrue(error <= 1e-5, names[i] + ": relative difference " + error);
        }
    }

    /** A run resumed on a machine with another core count continues bit for bit. */
    @Test
    void theResultDoesNotDependOnTheNumberOfThreads() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        float[][] one = KernelPass.run(manager, "native", 203, 1100, 8, false, 1);
        for (int workers : new int[] {2, 4, 7}) {
            float[][] many = KernelPass.run(manager, "native", 203, 1100, 8, false, workers);
            for (int i = 0; i < one.length; i++) {
                assertArrayEquals(one[i], many[i], 0f, "output " + i + ", " + workers + " workers");
            }
        }
    }

    @Test
    void rowsSplitOverSeveralMomentBuffersGiveTheSameResult() {
        assumeTrue(FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        float[][] whole = KernelPass.run(manager, "native", 203, 1100, 8, false, 2);
        // buffers of 7 rows: a call's rows end at each buffer's end, mid-part and mid-group
        float[][] split = KernelPass.run(manager, "native", 203, 1100, 8, false, 2, 7 * 1100L * Float.BYTES);
        for (int i = 0; i < whole.length; i++) {
            assertArrayEquals(whole[i], split[i], 0f, "output " + i);
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
