package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Vector API kernel of the fused step ({@link VectorAdamKernel}) and its dispatch ({@link
 * FusedKernels}): the tests' JVM runs it, its bf16 conversions are bit for bit those of {@link Bf16},
 * its result does not depend on the thread count or on how the moments are split into buffers, and a
 * JVM without the module runs the plain loops.
 * (Its agreement with the plain-loop kernel over 20 optimizer steps: {@link FusedFullAdamStepTest}.)
 */
class VectorAdamKernelTest {

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** Runs {@code body} with {@link FusedKernels#PROPERTY} set to {@code kernel} (null: unset). */
    static <T> T withKernel(String kernel, Supplier<T> body) {
        String previous = System.getProperty(FusedKernels.PROPERTY);
        try {
            if (kernel == null) {
                System.clearProperty(FusedKernels.PROPERTY);
            } else {
                System.setProperty(FusedKernels.PROPERTY, kernel);
            }
            return body.get();
        } finally {
            if (previous == null) {
                System.clearProperty(FusedKernels.PROPERTY);
            } else {
                System.setProperty(FusedKernels.PROPERTY, previous);
            }
        }
    }

    @Test
    void theTestJvmRunsTheVectorKernel() {
        // the build passes --add-modules jdk.incubator.vector to the tests; without it this fails
        // rather than letting every other fused-step test silently run the plain loops
        assertTrue(FusedKernels.vectorAvailable(), "the tests must run with --add-modules jdk.incubator.vector, on a "
                + "JDK whose Vector API the kernel can use: " + FusedKernels.vectorFailure());
        // auto prefers the native kernel where it runs (NativeAdamKernelTest), the vector kernel otherwise
        String auto = FusedKernels.nativeAvailable() ? "native" : "vector";
        assertEquals(auto, withKernel(null, FusedKernels::active));
        assertEquals(auto, withKernel("auto", FusedKernels::active));
        assertEquals("vector", withKernel("java", FusedKernels::active));
        assertEquals("scalar", withKernel("scalar", FusedKernels::active));
        assertEquals("scalar", withKernel(" Scalar ", FusedKernels::active));
        assertThrows(ai.lorapro.InvalidInputException.class, () -> withKernel("simd", FusedKernels::active));
    }

    @Test
    void bf16ConversionsMatchTheScalarOnesBitForBit() {
        Random rng = new Random(5);
        int len = 1000 + 7; // whole vectors and a scalar tail
        float[] values = new float[len];
        for (int i = 0; i < len; i++) {
            values[i] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(90) - 45));
        }
        float[] special = {
            Float.NaN, Float.intBitsToFloat(0x7F800001), Float.intBitsToFloat(0xFFC00001), Float.POSITIVE_INFINITY,
            Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 0f, -0f,
            1e-45f, 1e-41f, 9.2e-41f, Float.intBitsToFloat(0x3F808000), Float.intBitsToFloat(0x3F818000),
            Float.intBitsToFloat(0xBF818000), Float.intBitsToFloat(0x3FFFFFFF), Float.intBitsToFloat(0x00007FFF),
            Float.intBitsToFloat(0x00008000), Float.intBitsToFloat(0x00008001), Float.intBitsToFloat(0x80008001)
        };
        System.arraycopy(special, 0, values, 3, special.length);
        System.arraycopy(special, 0, values, len - special.length, special.length);
        for (boolean variance : new boolean[] {false, true}) {
            short[] bits = new short[len];
            VectorAdamKernel.encode(values, bits, len, variance);
            for (int i = 0; i < len; i++) {
                short expected = variance ? Bf16.encodeVariance(values[i]) : Bf16.encode(values[i]);
                assertEquals(expected, bits[i], "encode(" + values[i] + "), variance " + variance + ", index " + i);
            }
            float[] decoded = new float[len];
            VectorAdamKernel.decode(bits, decoded, len);
            for (int i = 0; i < len; i++) {
                assertEquals(Float.floatToRawIntBits(Bf16.decode(bits[i])), Float.floatToRawIntBits(decoded[i]), "index " + i);
            }
        }
    }

    /** Either kernel: a run resumed on a machine with another core count continues bit for bit. */
    @Test
    void theResultDoesNotDependOnTheNumberOfThreads() {
        for (String kernel : new String[] {"vector", "scalar"}) {
            for (boolean bf16 : new boolean[] {false, true}) {
                // 203 rows: an odd row count (single rows after the groups of four) and several row parts
                float[][] one = KernelPass.run(manager, kernel, 203, 1100, 8, bf16, 1);
                for (int workers : new int[] {2, 4, 7}) {
                    float[][] many = KernelPass.run(manager, kernel, 203, 1100, 8, bf16, workers);
                    for (int i = 0; i < one.length; i++) {
                        assertArrayEquals(one[i], many[i], 0f,
                                kernel + " output " + i + (bf16 ? " (bf16)" : "") + ", " + workers + " workers");
                    }
                }
            }
        }
    }

    @Test
    void groupsThatStraddleTwoMomentBuffersGiveTheSameResult() {
        for (boolean bf16 : new boolean[] {false, true}) {
            long rowBytes = 1100L * (bf16 ? Short.BYTES : Float.BYTES);
            float[][] whole = KernelPass.run(manager, "vector", 203, 1100, 8, bf16, 2);
            // buffers of 7 rows: about half the groups of four rows lie across two buffers, the rest within one
            float[][] split = KernelPass.run(manager, "vector", 203, 1100, 8, bf16, 2, 7 * rowBytes);
            for (int i = 0; i < whole.length; i++) {
                assertArrayEquals(whole[i], split[i], 0f, "output " + i + (bf16 ? " (bf16)" : ""));
            }
        }
    }

    @Test
    void aJvmWithoutTheModuleRunsThePlainLoops() throws IOException, InterruptedException {
        // the Java kernels only: the native kernel, where it runs, would be picked first
        String output = childJvm(List.of("-D" + FusedKernels.PROPERTY + "=java"), NoVectorModuleMain.class);
        assertTrue(output.contains("kernel=scalar vectorAvailable=false"), output);
        assertTrue(output.contains("steps=2 finite=true"), output);
    }

    /**
     * The kernel with 128- and 256-bit vectors (ARM NEON, AVX2), which this machine's 512-bit
     * registers would otherwise never run: one pass agrees with the plain loops within 1e-5 on
     * every case, fp32 and bf16 moments alike (bf16 moments within 1e-3: a value on a rounding
     * boundary may be stored one bf16 ulp apart).
     */
    @ParameterizedTest
    @ValueSource(ints = {16, 32})
    void narrowerVectorsAgreeWithThePlainLoops(int maxVectorBytes) throws IOException, InterruptedException {
        String output = childJvm(List.of("--add-modules", FusedKernels.VECTOR_MODULE,
                "-XX:MaxVectorSize=" + maxVectorBytes), NarrowVectorsMain.class);
        assertTrue(output.contains("kernel=Vector API kernel (" + 8 * maxVectorBytes + "-bit vectors,"), output);
        for (String dtype : new String[] {"fp32", "bf16"}) {
            Matcher m = Pattern.compile(dtype + " moments=(\\S+) projections=(\\S+)").matcher(output);
            assertTrue(m.find(), output);
            assertTrue(Double.parseDouble(m.group(1)) <= (dtype.equals("bf16") ? 1e-3 : 1e-5), output);
            assertTrue(Double.parseDouble(m.group(2)) <= 1e-5, output);
        }
    }

    /** Runs {@code main} in a child JVM with {@code jvmOptions} and this class path; returns its output. */
    private static String childJvm(List<String> jvmOptions, Class<?> main) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmOptions);
        command.add("-Dai.djl.offline=true");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(main.getName());
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("OMP_NUM_THREADS", "1");
        builder.environment().put("OPT_OUT_TRACKING", "true");
        Process process = builder.start();
        String output;
        try (var in = process.getInputStream()) {
            output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, process.exitValue(), output);
        return output;
    }
}
