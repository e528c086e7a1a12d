package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * The fused CPU step ({@link FusedFullAdamStep}) against the tensor-operation step ({@link
 * FullAdamStep}, what a GPU runs): same trajectories, same exported state, exact resume on both
 * paths and across them, and the bf16 storage of the moments.
 */
class FusedFullAdamStepTest {

    private static final int STEPS = 20;
    private static final double AGREEMENT = 1e-5;
    /** Moments stored as bf16 by two kernels whose fp32 results differ in the last bits. */
    private static final double BF16_MOMENT_AGREEMENT = 1e-3;
    /**
     * The factors of two runs with bf16 moments: a moment stored one bf16 ulp apart (2^-8 to 2^-7
     * relative) moves that element's u by as much, and twenty steps turn such flips into factor differences of
     * order 1e-5 whatever the kernels' own agreement (the B = 0 case below: 9.6e-6 with 512-bit
     * vectors for the earlier Vector API kernel and this one alike, 1.5e-5 with 128-bit vectors for
     * this one), where fp32 moments stay below 3e-6.
     */
    private static final double BF16_FACTOR_AGREEMENT = 1e-4;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    /** One LoRA pair with its own weights and a seeded stream of gradients. */
    private final class Pair {
        final Parameter a;
        final Parameter b;
        final int m;
        final int n;
        final int r;
        private final Random grads;

        Pair(int m, int n, int r, boolean zeroB, long seed) {
            this.m = m;
            this.n = n;
            this.r = r;
            Random rng = new Random(seed);
            a = parameter("lora_A.weight", gaussian(rng, r, n, 1 / Math.sqrt(n)));
            b = parameter("lora_B.weight", zeroB ? manager.zeros(new Shape(m, r)) : gaussian(rng, m, r, 0.1));
            grads = new Random(seed + 1);
        }

        void step(LoraProAdamW optimizer) {
            try (NDArray gradA = gaussian(grads, r, n, 1e-2);
                    NDArray gradB = gaussian(grads, m, r, 1e-2)) {
                optimizer.update(a.getId(), a.getArray(), gradA);
                optimizer.update(b.getId(), b.getArray(), gradB);
            }
        }
    }

    private NDArray gaussian(Random rng, int rows, int cols, double std) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (std * rng.nextGaussian());
        }
        return manager.create(v, new Shape(rows, cols));
    }

    private static Parameter parameter(String name, NDArray value) {
        value.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(value);
        return p;
    }

    private static LoraProAdamW.Builder adamw(Pair pair, float scaling, float weightDecay) {
        return LoraProAdamW.builder()
                .setLearningRateTracker(Tracker.fixed(1e-3f))
                .optWeightDecay(weightDecay)
                .addLoraPair("pair", pair.a, pair.b, scaling);
    }

    /**
     * ||actual - expected|| / ||expected||; NaN (failing every bound) when expected is all zeros,
     * where the comparison would prove nothing.
     */
    private double relativeError(float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length);
        try (NDArray e = manager.create(expected);
                NDArray a = manager.create(actual)) {
            return Fixtures.relativeError(a, e);
        }
    }

    @ParameterizedTest(name = "{0}x{1} r={2} s={3} wd={4} zeroB={5}")
    @CsvSource({
        // non-square, several workers, a partial tile of columns
        "67, 1100, 8, 2.0, 0.0, false",
        "1100, 45, 4, 2.0, 0.0, false",
        // rank 1 and rank 64 (odd and large ranks take the kernel's remainder paths)
        "40, 30, 1, 2.0, 0.0, false",
        "130, 96, 64, 0.25, 0.0, false",
        "50, 70, 3, 2.0, 0.0, false",
        // rsLoRA scaling alpha / sqrt(r) = 16 / 3, weight decay, and training from B = 0
        "36, 28, 9, 5.3333335, 0.0, false",
        "48, 40, 8, 2.0, 0.05, false",
        "48, 40, 8, 2.0, 0.0, true"
    })
    void fusedAndTensorStepsAgreeOverTwentySteps(int m, int n, int r, float scaling, float weightDecay, boolean zeroB) {
        Pair fusedPair = new Pair(m, n, r, zeroB, 31);
        Pair tensorPair = new Pair(m, n, r, zeroB, 31);
        try (LoraProAdamW fused = adamw(fusedPair, scaling, weightDecay).build();
                LoraProAdamW tensor = adamw(tensorPair, scaling, weightDecay).optFusedCpuStep(false).build()) {
            for (int step = 1; step <= STEPS; step++) {
                fusedPair.step(fused);
                tensorPair.step(tensor);
                assertFactorsAgree(tensorPair, fusedPair, step);
            }
            OptimizerState fusedState = fused.exportState(manager);
            OptimizerState tensorState = tensor.exportState(manager);
            assertEquals(tensorState.getSteps(), fusedState.getSteps());
            assertEquals(tensorState.getTensors().keySet(), fusedState.getTensors().keySet());
            for (String key : tensorState.getTensors().keySet()) {
                NDArray expected = tensorState.getTensors().get(key);
                NDArray actual = fusedState.getTensors().get(key);
                assertEquals(expected.getShape(), actual.getShape(), key);
                assertEquals(expected.getDataType(), actual.getDataType(), key);
                double error = relativeError(expected.toFloatArray(), actual.toFloatArray());
                assertTrue(error <= AGREEMENT, key + ": relative difference " + error);
            }
        }
    }

    /**
     * The fused step's two ways of doing the r-sized algebra (host loops up to {@link
     * LoraProAdamW#HOST_ALGEBRA_MAX_RANK}, tensor operations above) each agree with the tensor step,
     * and each skips a step whose direction overflows after the moments took it (A of about 1e38,
     * B = 0): factors untouched, moments stepped, t counted.
     */
    @ParameterizedTest(name = "r = HOST_ALGEBRA_MAX_RANK + {0}")
    @CsvSource({"0", "1"})
    void bothWaysOfTheR_SizedAlgebraAgreeAndSkipAnOverflow(int above) {
        int r = LoraProAdamW.HOST_ALGEBRA_MAX_RANK + above;
        Pair fusedPair = new Pair(60, 50, r, false, 43);
        Pair tensorPair = new Pair(60, 50, r, false, 43);
        try (LoraProAdamW fused = adamw(fusedPair, 2f, 0f).build();
                LoraProAdamW tensor = adamw(tensorPair, 2f, 0f).optFusedCpuStep(false).build()) {
            for (int step = 1; step <= 5; step++) {
                fusedPair.step(fused);
                tensorPair.step(tensor);
                assertFactorsAgree(tensorPair, fusedPair, step);
            }
            fusedPair.a.getArray().muli(1e38f);
            fusedPair.b.getArray().muli(0f);
            float[] a = fusedPair.a.getArray().toFloatArray();
            float[] b = fusedPair.b.getArray().toFloatArray();
            float[] firstMoment = fused.exportState(manager).getTensors().get("pair.exp_avg").toFloatArray();
            fusedPair.step(fused);
            assertEquals(1, fused.getSkippedSteps());
            assertArrayEquals(a, fusedPair.a.getArray().toFloatArray(), "A changed");
            assertArrayEquals(b, fusedPair.b.getArray().toFloatArray(), "B changed");
            OptimizerState state = fused.exportState(manager);
            assertFalse(java.util.Arrays.equals(firstMoment, state.getTensors().get("pair.exp_avg").toFloatArray()),
                    "the moments did not take the step");
            assertEquals(6, state.getSteps().get("pair"));
        }
    }

    /**
     * Every choice of X on both paths (the shapes above run the default, Sylvester): the fused step
     * forms X from its host copies of the factors, the tensor step from its arrays.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(XMode.class)
    void fusedAndTensorStepsAgreeForEveryX(XMode mode) {
        Pair fusedPair = new Pair(70, 45, 5, false, 41);
        Pair tensorPair = new Pair(70, 45, 5, false, 41);
        try (LoraProAdamW fused = adamw(fusedPair, 2f, 0.01f).optXMode(mode).build();
                LoraProAdamW tensor = adamw(tensorPair, 2f, 0.01f).optXMode(mode).optFusedCpuStep(false).build()) {
            for (int step = 1; step <= STEPS; step++) {
                fusedPair.step(fused);
                tensorPair.step(tensor);
                assertFactorsAgree(tensorPair, fusedPair, step);
            }
        }
    }

    /** The cases of {@link #kernelsAgreeWithThePlainLoopsOverTwentySteps}, for each kernel. */
    static Stream<Arguments> kernelCases() {
        Object[][] cases = {
            {67, 1100, 8, 2.0f, 0.0f, false, StateDType.FP32},
            {1100, 45, 4, 2.0f, 0.0f, false, StateDType.FP32},
            {40, 30, 1, 2.0f, 0.0f, false, StateDType.FP32},
            {130, 96, 64, 0.25f, 0.0f, false, StateDType.FP32},
            {50, 70, 3, 2.0f, 0.0f, false, StateDType.FP32},
            {36, 28, 9, 5.3333335f, 0.0f, false, StateDType.FP32},
            {48, 40, 8, 2.0f, 0.05f, false, StateDType.FP32},
            {48, 40, 8, 2.0f, 0.0f, true, StateDType.FP32},
            {67, 1100, 8, 2.0f, 0.05f, false, StateDType.BF16},
            {50, 70, 3, 2.0f, 0.0f, true, StateDType.BF16}
        };
        List<Arguments> arguments = new ArrayList<>();
        for (String kernel : new String[] {"vector", "native"}) {
            for (Object[] c : cases) {
                Object[] withKernel = Arrays.copyOf(c, c.length + 1);
                withKernel[c.length] = kernel;
                arguments.add(Arguments.of(withKernel));
            }
        }
        return arguments.stream();
    }

    @ParameterizedTest(name = "{7}: {0}x{1} r={2} s={3} wd={4} zeroB={5} {6}")
    @MethodSource("kernelCases")
    void kernelsAgreeWithThePlainLoopsOverTwentySteps(
            int m, int n, int r, float scaling, float weightDecay, boolean zeroB, StateDType dtype, String kernel) {
        assumeTrue(!kernel.equals("native") || FusedKernels.nativeAvailable(), FusedKernels.nativeFailure());
        Pair kernelPair = new Pair(m, n, r, zeroB, 37);
        Pair scalarPair = new Pair(m, n, r, zeroB, 37);
        try (LoraProAdamW fast = adamw(kernelPair, scaling, weightDecay).optStateDType(dtype).build();
                LoraProAdamW scalar = adamw(scalarPair, scaling, weightDecay).optStateDType(dtype).build()) {
            for (int step = 1; step <= STEPS; step++) {
                VectorAdamKernelTest.withKernel(kernel, () -> {
                    kernelPair.step(fast);
                    return null;
                });
                VectorAdamKernelTest.withKernel("scalar", () -> {
                    scalarPair.step(scalar);
                    return null;
                });
                assertFactorsAgree(scalarPair, kernelPair, step,
                        dtype == StateDType.BF16 ? BF16_FACTOR_AGREEMENT : AGREEMENT);
            }
            // bf16 moments: where the two kernels' fp32 values straddle a rounding boundary, the
            // stored values differ by one bf16 ulp (2^-8 relative), which no fp32 bound can hide
            assertStatesAgree(scalar.exportState(manager), fast.exportState(manager),
                    dtype == StateDType.BF16 ? BF16_MOMENT_AGREEMENT : AGREEMENT);
        }
    }

    /** A and B of two runs of the same pair within {@link #AGREEMENT}, relative. */
    private void assertFactorsAgree(Pair expected, Pair actual, int step) {
        assertFactorsAgree(expected, actual, step, AGREEMENT);
    }

    /** A and B of two runs of the same pair within {@code bound}, relative. */
    private void assertFactorsAgree(Pair expected, Pair actual, int step, double bound) {
        double errorA = relativeError(expected.a.getArray().toFloatArray(), actual.a.getArray().toFloatArray());
        double errorB = relativeError(expected.b.getArray().toFloatArray(), actual.b.getArray().toFloatArray());
        assertTrue(errorA <= bound, "A after step " + step + ": relative difference " + errorA);
        assertTrue(errorB <= bound, "B after step " + step + ": relative difference " + errorB);
    }

    /** The same steps and moment keys, each moment within {@code bound}, relative. */
    private void assertStatesAgree(OptimizerState expected, OptimizerState actual, double bound) {
        assertEquals(expected.getSteps(), actual.getSteps());
        assertEquals(expected.getTensors().keySet(), actual.getTensors().keySet());
        for (String key : expected.getTensors().keySet()) {
            double error = relativeError(expected.getTensors().get(key).toFloatArray(), actual.getTensors().get(key).toFloatArray());
            assertTrue(error <= bound, key + ": relative difference " + error);
        }
    }

    /** Which step an optimizer runs. */
    private enum Variant {
        FUSED_FP32,
        TENSOR_FP32,
        FUSED_BF16;

        LoraProAdamW.Builder configure(LoraProAdamW.Builder builder) {
            return builder.optFusedCpuStep(this != TENSOR_FP32)
                    .optStateDType(this == FUSED_BF16 ? StateDType.BF16 : StateDType.FP32);
        }
    }

    @Test
    void exportedStateResumesExactlyOnEveryVariant() {
        for (Variant variant : Variant.values()) {
            float[][] run = resume(variant, variant);
            assertArrayEquals(run[0], run[2], 0f, variant + ": A");
            assertArrayEquals(run[1], run[3], 0f, variant + ": B");
        }
    }

    @Test
    void stateSavedByOnePathResumesOnTheOther() {
        float[][] fusedToTensor = resume(Variant.FUSED_FP32, Variant.TENSOR_FP32);
        float[][] tensorToFused = resume(Variant.TENSOR_FP32, Variant.FUSED_FP32);
        for (float[][] run : new float[][][] {fusedToTensor, tensorToFused}) {
            assertTrue(relativeError(run[0], run[2]) <= AGREEMENT);
            assertTrue(relativeError(run[1], run[3]) <= AGREEMENT);
        }
    }

    /**
     * Runs 3 steps with {@code saver}, hands its exported state to a fresh {@code resumer} whose
     * pair gets the saver's weights, then 3 more steps on both with the same gradients; returns A
     * and B of the saver's run, then of the resumer's.
     */
    private float[][] resume(Variant saver, Variant resumer) {
        Pair original = new Pair(70, 33, 4, false, 41);
        Pair resumed = new Pair(70, 33, 4, false, 41);
        try (LoraProAdamW first = saver.configure(adamw(original, 2f, 0.01f)).build();
                LoraProAdamW second = resumer.configure(adamw(resumed, 2f, 0.01f)).build();
                LoraProAdamW discarded = saver.configure(adamw(resumed, 2f, 0.01f)).build()) {
            for (int step = 0; step < 3; step++) {
                original.step(first);
                // the resumed pair draws the same gradients; its weights are overwritten below
                resumed.step(discarded);
            }
            resumed.a.getArray().set(new ai.djl.ndarray.index.NDIndex("..."), original.a.getArray());
            resumed.b.getArray().set(new ai.djl.ndarray.index.NDIndex("..."), original.b.getArray());
            try (NDManager exported = manager.newSubManager()) {
                OptimizerState state = first.exportState(exported);
                second.importState(new OptimizerState(new HashMap<>(state.getTensors()), state.getSteps()));
            }
            for (int step = 0; step < 3; step++) {
                original.step(first);
                resumed.step(second);
            }
            assertEquals(6, second.exportState(manager).getSteps().get("pair"));
            return new float[][] {
                original.a.getArray().toFloatArray(),
                original.b.getArray().toFloatArray(),
                resumed.a.getArray().toFloatArray(),
                resumed.b.getArray().toFloatArray()
            };
        }
    }

    @Test
    void bf16MomentsHalveTheStateAndExportAsFp32() {
        Pair pair = new Pair(48, 40, 8, false, 51);
        Pair reference = new Pair(48, 40, 8, false, 51);
        try (LoraProAdamW bf16 = adamw(pair, 2f, 0f).optStateDType(StateDType.BF16).build();
                LoraProAdamW fp32 = adamw(reference, 2f, 0f).build()) {
            for (int step = 0; step < 3; step++) {
                pair.step(bf16);
                reference.step(fp32);
            }
            assertEquals(2L * 48 * 40 * Short.BYTES, bf16.stateBytes());
            assertEquals(2L * 48 * 40 * Float.BYTES, fp32.stateBytes());
            OptimizerState state = bf16.exportState(manager);
            OptimizerState expected = fp32.exportState(manager);
            assertEquals(expected.getTensors().keySet(), state.getTensors().keySet());
            for (String key : expected.getTensors().keySet()) {
                NDArray moment = state.getTensors().get(key);
                assertEquals(DataType.FLOAT32, moment.getDataType(), key);
                assertEquals(new Shape(48, 40), moment.getShape(), key);
                float[] values = moment.toFloatArray();
                float[] exact = expected.getTensors().get(key).toFloatArray();
                for (int i = 0; i < values.length; i++) {
                    // exported values are bf16 numbers, each within half an 8-bit ulp of the fp32 run's
                    assertEquals(0, Float.floatToRawIntBits(values[i]) & 0xFFFF, key + "[" + i + "]");
                }
                double error = relativeError(exact, values);
                assertTrue(error > 0 && error < 1e-2, key + ": relative difference to fp32 moments " + error);
            }
            float[] v = state.getTensors().get("pair.exp_avg_sq").toFloatArray();
            for (float x : v) {
                assertTrue(x > 0, "a second moment of nonzero gradients must stay positive");
            }
        }
    }

    /** The bf16 moments belong to the optimizer: closing the manager of the model's factors does not free them. */
    @Test
    void bf16MomentsOutliveTheFactorsManager() {
        Random rng = new Random(71);
        try (LoraProAdamW bf16 = buildAndStepOnce(rng)) {
            OptimizerState state = bf16.exportState(manager);
            assertEquals(java.util.Set.of("pair.exp_avg", "pair.exp_avg_sq"), state.getTensors().keySet());
            assertTrue(state.getTensors().get("pair.exp_avg_sq").toFloatArray()[0] > 0);
        }
    }

    /** A bf16 optimizer stepped once on a pair whose factors' manager is closed when this returns. */
    private LoraProAdamW buildAndStepOnce(Random rng) {
        try (NDManager model = manager.newSubManager()) {
            Parameter a = parameter("lora_A.weight", gaussian(rng, 2, 6, 0.4));
            Parameter b = parameter("lora_B.weight", gaussian(rng, 8, 2, 0.1));
            a.getArray().attach(model);
            b.getArray().attach(model);
            LoraProAdamW bf16 = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-3f))
                    .optStateDType(StateDType.BF16).addLoraPair("pair", a, b, 2f).build();
            bf16.update(a.getId(), a.getArray(), model.ones(new Shape(2, 6)));
            bf16.update(b.getId(), b.getArray(), model.ones(new Shape(8, 2)));
            return bf16;
        }
    }

    @Test
    void bf16NeedsFullModeAndTheFusedStep() {
        Pair pair = new Pair(8, 6, 2, false, 61);
        ai.lorapro.InvalidFieldException efficient = assertThrows(ai.lorapro.InvalidFieldException.class,
                () -> adamw(pair, 2f, 0f).optStateDType(StateDType.BF16).optMode(LoraProAdamW.Mode.EFFICIENT).build());
        assertEquals("state_dtype", efficient.field());
        assertThrows(ai.lorapro.InvalidFieldException.class,
                () -> adamw(pair, 2f, 0f).optStateDType(StateDType.BF16).optFusedCpuStep(false).build());
        assertThrows(ai.lorapro.InvalidInputException.class, () -> StateDType.fromString("fp16"));
        assertEquals(StateDType.BF16, StateDType.fromString(" BF16 "));
    }
}
