package ai.lorapro.lora;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.nn.Weights;
import ai.lorapro.optim.LoraProAdamW;
import ai.lorapro.optim.OptimizerState;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraLinearTest {

    private static final int IN = 7;
    private static final int OUT = 5;

    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private NDArray random(long seed, int rows, int cols) {
        Random rng = new Random(seed);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextGaussian();
        }
        return manager.create(v, new Shape(rows, cols));
    }

    private LoraLinear layer(LoraConfig config) {
        LoraLinear layer =
                LoraLinear.builder().setInFeatures(IN).setOutFeatures(OUT).optBias(true).optLora(config).build();
        layer.initialize(manager, DataType.FLOAT32, new Shape(3, IN));
        return layer;
    }

    private static NDArray forward(LoraLinear layer, NDArray x) {
        return layer.forward(new ParameterStore(x.getManager(), false), new NDList(x), false).singletonOrThrow();
    }

    private static NDArray base(LoraLinear layer, NDArray x) {
        return x.matMul(layer.getWeight().getArray().transpose()).add(layer.getBias().getArray());
    }

    @Test
    void withZeroBTheOutputIsTheBaseLinear() {
        LoraLinear layer = layer(LoraConfig.builder().setR(3).setAlpha(6).build());
        assertEquals(0f, layer.getLoraB().getArray().abs().max().getFloat());
        assertTrue(layer.getLoraA().getArray().abs().max().getFloat() > 0);
        NDArray x = random(1, 4, IN);
        assertArrayEquals(base(layer, x).toFloatArray(), forward(layer, x).toFloatArray(), 1e-6f);
    }

    @Test
    void mergeKeepsOutputsAndUnmergeRestoresW0Exactly() {
        LoraLinear layer = layer(LoraConfig.builder().setR(3).setAlpha(6).build());
        Weights.assign(layer.getLoraB(), random(2, OUT, 3));
        NDArray x = random(3, 4, IN);
        float[] w0 = layer.getWeight().getArray().toFloatArray();
        float[] adapted = forward(layer, x).toFloatArray();
        float[] expected = base(layer, x)
                .add(x.matMul(layer.getLoraA().getArray().transpose())
                        .matMul(layer.getLoraB().getArray().transpose())
                        .mul(layer.getScaling()))
                .toFloatArray();
        assertArrayEquals(expected, adapted, 1e-5f);

        layer.merge();
        assertTrue(layer.isMerged());
        assertFalse(java.util.Arrays.equals(w0, layer.getWeight().getArray().toFloatArray()));
        assertArrayEquals(adapted, forward(layer, x).toFloatArray(), 1e-5f);

        layer.unmerge();
        assertFalse(layer.isMerged());
        assertArrayEquals(w0, layer.getWeight().getArray().toFloatArray(), 0f);
        assertArrayEquals(adapted, forward(layer, x).toFloatArray(), 1e-6f);
    }

    @Test
    void builtLayersOfOneShapeDrawTheirOwnWeightsAndTheEngineSeedRepeatsThem() {
        LoraConfig config = LoraConfig.builder().setR(2).setAlpha(4).build();
        ai.djl.engine.Engine.getInstance().setRandomSeed(7);
        LoraLinear first = layer(config);
        LoraLinear second = layer(config);
        ai.djl.engine.Engine.getInstance().setRandomSeed(7);
        LoraLinear again = layer(config);
        float[] w1 = first.getWeight().getArray().toFloatArray();
        assertFalse(java.util.Arrays.equals(w1, second.getWeight().getArray().toFloatArray()), "same W0");
        assertFalse(java.util.Arrays.equals(first.getLoraA().getArray().toFloatArray(),
                second.getLoraA().getArray().toFloatArray()), "same A");
        assertArrayEquals(w1, again.getWeight().getArray().toFloatArray(), 0f);
        assertArrayEquals(first.getLoraA().getArray().toFloatArray(), again.getLoraA().getArray().toFloatArray(), 0f);
    }

    @Test
    void mergingAFloat16LayerLeavesNoArrayBehind() {
        LoraConfig config = LoraConfig.builder().setR(2).setAlpha(4).build();
        try (NDManager owner = manager.newSubManager()) {
            LoraLinear layer = LoraLinear.builder().setInFeatures(IN).setOutFeatures(OUT).optLora(config).build();
            layer.initialize(owner, DataType.FLOAT16, new Shape(3, IN));
            Weights.assign(layer.getLoraB(), random(3, OUT, 2));
            int before = owner.getManagedArrays().size();
            layer.merge();
            // the one array merge keeps is the exact W0 for unmerge
            assertEquals(before + 1, owner.getManagedArrays().size());
            layer.unmerge();
            assertEquals(before, owner.getManagedArrays().size());
        }
    }

    @Test
    void aRemovedAdapterFreesItsFactorsAndLeavesTheBaseLayer() {
        LoraLinear layer = layer(LoraConfig.builder().setR(3).setAlpha(6).build());
        NDArray a = layer.getLoraA().getArray();
        layer.merge();
        assertThrows(IllegalStateException.class, layer::removeAdapter);
        layer.unmerge();
        layer.removeAdapter();
        assertFalse(layer.hasAdapter());
        assertTrue(a.isReleased());
        assertEquals(List.of("weight", "bias"), List.copyOf(layer.namedParameters().keySet()));
        assertEquals(2, layer.getParameters().size());
        assertThrows(IllegalStateException.class, layer::removeAdapter);
        // the layer takes an adapter again, as a fresh one would
        layer.addAdapter(LoraConfig.builder().setR(2).setAlpha(4).build());
        assertEquals(List.of("weight", "bias", "lora_A.weight", "lora_B.weight"), List.copyOf(layer.namedParameters().keySet()));
    }

    @Test
    void rsLoraScalesByAlphaOverSqrtR() {
        LoraConfig plain = LoraConfig.builder().setR(4).setAlpha(8).build();
        LoraConfig rs = plain.toBuilder().optUseRsLora(true).build();
        assertEquals(2f, plain.getScaling(), 0f);
        assertEquals(4f, rs.getScaling(), 1e-6f);
        LoraLinear layer = layer(rs);
        assertEquals(4f, layer.getScaling(), 1e-6f);
        Weights.assign(layer.getLoraB(), random(4, OUT, 4));
        NDArray x = random(5, 2, IN);
        NDArray delta = forward(layer, x).sub(base(layer, x));
        NDArray expected = x.matMul(layer.getLoraA().getArray().transpose())
                .matMul(layer.getLoraB().getArray().transpose())
                .mul(4f);
        assertArrayEquals(expected.toFloatArray(), delta.toFloatArray(), 1e-5f);
    }

    @Test
    void frozenW0GetsNoGradientNorOptimizerStateWhileTheFactorsDo() {
        for (boolean fullFineTuning : new boolean[] {false, true}) {
            LoraLinear layer = LoraLinear.builder()
                    .setInFeatures(IN)
                    .setOutFeatures(OUT)
                    .optLora(LoraConfig.builder().setR(2).setAlpha(4).build())
                    .build();
            layer.setBaseTrainable(fullFineTuning);
            LoraProAdamW optimizer = LoraProAdamW.builder()
                    .setLearningRateTracker(Tracker.fixed(1e-2f))
                    .addLoraLayers(layer)
                    .build();
            try (Model model = Model.newInstance("frozen")) {
                model.setBlock(layer);
                try (Trainer trainer =
                        model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer))) {
                    trainer.initialize(new Shape(3, IN));
                    Weights.assign(layer.getLoraB(), random(6, OUT, 2));
                    float[] w0 = layer.getWeight().getArray().toFloatArray();
                    NDArray x = random(7, 3, IN);
                    try (GradientCollector collector = trainer.newGradientCollector()) {
                        NDArray y = trainer.forward(new NDList(x)).singletonOrThrow();
                        collector.backward(y.mul(y).sum());
                    }
                    assertEquals(fullFineTuning, layer.getWeight().getArray().hasGradient());
                    assertTrue(layer.getLoraA().getArray().getGradient().abs().max().getFloat() > 0);
                    assertTrue(layer.getLoraB().getArray().getGradient().abs().max().getFloat() > 0);
                    trainer.step();
                    assertEquals(0f, layer.getLoraA().getArray().getGradient().abs().max().getFloat());

                    OptimizerState state = optimizer.exportState(trainer.getManager());
                    Set<String> expected = fullFineTuning
                            ? Set.of("root.exp_avg", "root.exp_avg_sq", "weight.exp_avg", "weight.exp_avg_sq")
                            : Set.of("root.exp_avg", "root.exp_avg_sq");
                    assertEquals(expected, state.getTensors().keySet());
                    boolean w0Moved = !java.util.Arrays.equals(w0, layer.getWeight().getArray().toFloatArray());
                    assertEquals(fullFineTuning, w0Moved);
                }
            }
            optimizer.close();
        }
    }
}
