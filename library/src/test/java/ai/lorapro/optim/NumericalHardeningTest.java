package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optimizers on hard inputs: rank-deficient and over-wide factors, gradients whose step
 * overflows, and float16 parameters.
 */
class NumericalHardeningTest extends ManagedTest {

    private NDArray gaussian(Random rng, int rows, int cols, double std) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian() * std;
        }
        return manager.create(v, new Shape(rows, cols));
    }

    /**
     * The float32 adjusted gradients against the same formulas in float64, for a pair whose B has
     * rank {@code rankB} < r (or whose A has rank n < r). Float32 Grams of such factors had
     * eigenvalues <= 0 (21 of 64 for the first case) and gave gA* 11x and gB* 8.8x off.
     */
    private void assertFloat32MatchesFloat64(int m, int n, int r, int rankB, long seed) {
        Random rng = new Random(seed);
        NDArray b = gaussian(rng, m, rankB, 1).matMul(gaussian(rng, rankB, r, 1.0 / Math.sqrt(rankB)));
        NDArray a = gaussian(rng, r, n, 1.0 / Math.sqrt(n));
        NDArray g = gaussian(rng, m, n, 1);
        double s = 2;
        NDList grads64 = LoraProMathTest.loraGradients(g, a, b, s);
        NDList reference = LoraProMath.adjustedGradients(
                a, b, grads64.get(0), grads64.get(1), s, LoraProMath.DEFAULT_DELTA, XMode.SYLVESTER);
        // the float32 path sees float32 factors and float32 LoRA gradients, as in training
        NDArray a32 = a.toType(DataType.FLOAT32, false);
        NDArray b32 = b.toType(DataType.FLOAT32, false);
        NDList grads32 = LoraProMathTest.loraGradients(g.toType(DataType.FLOAT32, false), a32, b32, s);
        NDList adjusted = LoraProMath.adjustedGradients(
                a32, b32, grads32.get(0), grads32.get(1), s, LoraProMath.DEFAULT_DELTA, XMode.SYLVESTER);
        String[] names = {"gA*", "gB*"};
        for (int i = 0; i < 2; i++) {
            double err = relativeError(reference.get(i), adjusted.get(i));
            assertTrue(err < 5e-3, m + "x" + n + " r=" + r + " rank(B)=" + rankB + ": " + names[i]
                    + " is off by " + err + " relative to float64");
        }
        // and the equivalent gradient, which does not depend on X
        NDArray e64 = LoraProMathTest.equivalentGradient(a, b, grads64.get(0), grads64.get(1), s, LoraProMath.DEFAULT_DELTA);
        NDArray e32 = LoraProMathTest.equivalentGradient(
                a32, b32, grads32.get(0), grads32.get(1), s, LoraProMath.DEFAULT_DELTA);
        double err = relativeError(e64, e32);
        assertTrue(err < 1e-3, "equivalent gradient off by " + err);
    }

    private static double relativeError(NDArray expected, NDArray actual) {
        double[] e = expected.toType(DataType.FLOAT64, false).toDoubleArray();
        double[] x = actual.toType(DataType.FLOAT64, false).toDoubleArray();
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < e.length; i++) {
            diff += (x[i] - e[i]) * (x[i] - e[i]);
            norm += e[i] * e[i];
        }
        return Math.sqrt(diff / norm);
    }

    @Test
    void rankDeficientBInFloat32MatchesFloat64() {
        assertFloat32MatchesFloat64(1024, 1024, 64, 16, 1);
    }

    @Test
    void rankLargerThanTheInputWidthInFloat32MatchesFloat64() {
        // A is 64 x 32, so A A^T has rank 32
        assertFloat32MatchesFloat64(128, 32, 64, 64, 2);
    }

    @Test
    void eigenvaluesAreFlooredRelativeToTheLargest() {
        // B of rank 1: B^T B has one eigenvalue 25 and two at (numerically) zero
        NDArray b = manager.create(new double[] {3, 0, 0, 4, 0, 0}, new Shape(2, 3));
        NDArray a = manager.eye(3, 5, 0, DataType.FLOAT64);
        FactorGrams grams = FactorGrams.of(a, b, 1e-8);
        double[] values = grams.eigenB.values.clone();
        java.util.Arrays.sort(values);
        assertEquals(25 * FactorGrams.RELATIVE_FLOOR + 1e-8, values[0], 1e-18);
        assertEquals(25 * FactorGrams.RELATIVE_FLOOR + 1e-8, values[1], 1e-18);
        assertEquals(25 + 1e-8, values[2], 1e-12);
        // B = 0 (LoRA's start): the ridge alone
        FactorGrams zero = FactorGrams.of(a, manager.zeros(new Shape(3, 3), DataType.FLOAT64), 1e-8);
        for (double v : zero.eigenB.values) {
            assertEquals(1e-8, v, 0);
        }
    }

    /** Finite but huge LoRA gradients whose adjusted step overflows float32. */
    @Test
    void aStepWhoseResultOverflowsTouchesNeitherFactorsNorMoments() {
        for (int kind = 0; kind < 3; kind++) {
            Random rng = new Random(5);
            // B nearly rank one: (B^T B)^-1 amplifies by ~1e6 and the step overflows
            float[] bv = new float[6 * 2];
            for (int i = 0; i < 6; i++) {
                bv[2 * i] = 1;
                bv[2 * i + 1] = 1 + 1e-3f * i;
            }
            Parameter a = trainable("lora_A.weight", gaussian(rng, 2, 5, 1).toType(DataType.FLOAT32, false));
            Parameter b = trainable("lora_B.weight", manager.create(bv, new Shape(6, 2)));
            LoraProOptimizer optimizer;
            if (kind == 0) {
                optimizer = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f))
                        .addLoraPair("layer", a, b, 2f).build();
            } else {
                optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(0.1f))
                        .optMode(kind == 1 ? LoraProAdamW.Mode.FULL : LoraProAdamW.Mode.EFFICIENT)
                        .addLoraPair("layer", a, b, 2f).build();
            }
            float[] a0 = a.getArray().toFloatArray();
            float[] b0 = b.getArray().toFloatArray();
            NDArray gA = manager.full(new Shape(2, 5), 3e37f);
            NDArray gB = manager.full(new Shape(6, 2), -3e37f);
            optimizer.update(a.getId(), a.getArray(), gA);
            optimizer.update(b.getId(), b.getArray(), gB);
            assertEquals(1, optimizer.getSkippedSteps(), "kind " + kind);
            assertArrayEquals(a0, a.getArray().toFloatArray(), "kind " + kind + ": A changed");
            assertArrayEquals(b0, b.getArray().toFloatArray(), "kind " + kind + ": B changed");
            OptimizerState state = optimizer.exportState(manager);
            assertEquals(null, state.getSteps().get("layer"), "a skipped step is not counted in t");
            for (NDArray moment : state.getTensors().values()) {
                assertEquals(0f, moment.abs().max().getFloat(), "kind " + kind + ": moments changed");
            }
            optimizer.close();
        }
    }

    @Test
    void float16ParametersGetFloat32StateAndFiniteSteps() {
        // v = (1 - beta2) g^2 = 1e-11 underflows in float16, and so does eps sqrt(1 - beta2)
        Parameter head = trainable("head.weight", manager.ones(new Shape(4, 3), DataType.FLOAT16));
        PlainAdamW adamw = PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-3f))
                .nameParameter("head.weight", head).build();
        for (int step = 0; step < 3; step++) {
            NDArray grad = manager.full(new Shape(4, 3), 1e-4f).toType(DataType.FLOAT16, false);
            adamw.update(head.getId(), head.getArray(), grad);
        }
        NDArray w = head.getArray();
        assertEquals(DataType.FLOAT16, w.getDataType());
        float[] values = w.toType(DataType.FLOAT32, false).toFloatArray();
        for (float v : values) {
            // three Adam steps of size lr against a constant gradient: 1 - 3e-3, rounded to float16
            assertEquals(1 - 3e-3f, v, 1e-3f);
        }
        for (NDArray moment : adamw.exportState(manager).getTensors().values()) {
            assertEquals(DataType.FLOAT32, moment.getDataType());
        }
        adamw.close();
    }
}
