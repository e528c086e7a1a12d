package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import org.junit.jupiter.api.Test;

import java.util.Random;

/** The tensor-operation full-mode step done in blocks of rows matches the step done on the whole matrix at once. */
class FullAdamStepTest {

    private static final int M = 29;
    private static final int N = 12;
    private static final int R = 3;

    private static Parameter parameter(NDManager manager, String name, float[] values, int rows, int cols) {
        NDArray array = manager.create(values, new Shape(rows, cols));
        array.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(array);
        return p;
    }

    private static float[] gaussian(Random rng, int size) {
        float[] v = new float[size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return v;
    }

    /** Runs three steps with the given block budget and returns A, B, m and v, flattened in that order. */
    private static float[][] run(NDManager manager, long blockElements) {
        Random rng = new Random(5);
        Parameter a = parameter(manager, "lora_A.weight", gaussian(rng, R * N), R, N);
        Parameter b = parameter(manager, "lora_B.weight", gaussian(rng, M * R), M, R);
        try (LoraProAdamW optimizer =
                LoraProAdamW.builder()
                        .optWeightDecay(0.01f)
                        .blockElements(blockElements)
                        .optFusedCpuStep(false)
                        .addLoraPair("pair", a, b, 2f)
                        .build()) {
            for (int step = 0; step < 3; step++) {
                try (NDArray gradA = manager.create(gaussian(rng, R * N), new Shape(R, N));
                        NDArray gradB = manager.create(gaussian(rng, M * R), new Shape(M, R))) {
                    optimizer.update(b.getId(), b.getArray(), gradB);
                    optimizer.update(a.getId(), a.getArray(), gradA);
                }
            }
            OptimizerState state = optimizer.exportState(manager);
            return new float[][] {
                a.getArray().toFloatArray(),
                b.getArray().toFloatArray(),
                state.getTensors().get("pair.exp_avg").toFloatArray(),
                state.getTensors().get("pair.exp_avg_sq").toFloatArray()
            };
        }
    }

    @Test
    void blocksOfRowsGiveTheSameStepAsOneBlock() {
        try (NDManager manager = NDManager.newBaseManager()) {
            float[][] whole = run(manager, Long.MAX_VALUE);
            // 4 rows per block: seven full blocks and one of a single row
            float[][] blocked = run(manager, 4L * N + 3);
            String[] names = {"A", "B", "exp_avg", "exp_avg_sq"};
            for (int k = 0; k < whole.length; k++) {
                assertEquals(whole[k].length, blocked[k].length);
                double scale = 0;
                for (float x : whole[k]) {
                    scale = Math.max(scale, Math.abs(x));
                }
                assertTrue(scale > 0, names[k] + " is all zeros: the comparison would prove nothing");
                for (int i = 0; i < whole[k].length; i++) {
                    assertEquals(whole[k][i], blocked[k][i], 1e-5 * scale, names[k] + "[" + i + "]");
                }
            }
        }
    }
}
