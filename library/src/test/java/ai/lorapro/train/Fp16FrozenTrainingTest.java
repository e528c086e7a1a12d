package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.engine.Engine;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** Frozen float16 base weights with float32 adapters, on the CPU. */
class Fp16FrozenTrainingTest {

    private static int threads;

    @org.junit.jupiter.api.BeforeAll
    static void oneThread() {
        threads = TinyModels.singleThread();
    }

    @org.junit.jupiter.api.AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    @TempDir
    Path tmp;

    @Test
    void loraLinearMixesFloat16BaseAndFloat32Adapter() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LoraLinear half = LoraLinear.builder().setInFeatures(8).setOutFeatures(6)
                    .optLora(LoraConfig.builder().setR(2).setAlpha(4).build()).build();
            LoraLinear full = LoraLinear.builder().setInFeatures(8).setOutFeatures(6)
                    .optLora(LoraConfig.builder().setR(2).setAlpha(4).build()).build();
            // the same A in both: the same salt (built layers otherwise draw their own)
            half.setSeedSalt(1);
            full.setSeedSalt(1);
            NDArray w = manager.randomUniform(-0.5f, 0.5f, new Shape(6, 8));
            Weights.assign(half.getWeight(), w.toType(DataType.FLOAT16, true));
            Weights.assign(full.getWeight(), w.duplicate());
            half.initialize(manager, DataType.FLOAT32, new Shape(3, 8));
            full.initialize(manager, DataType.FLOAT32, new Shape(3, 8));
            // a non-zero B so the adapter branch matters
            half.getLoraB().getArray().set(new ai.djl.ndarray.index.NDIndex("..."), 0.25f);
            full.getLoraB().getArray().set(new ai.djl.ndarray.index.NDIndex("..."), 0.25f);
            assertEquals(DataType.FLOAT32, half.getLoraA().getArray().getDataType());

            NDArray x = manager.randomNormal(new Shape(3, 8));
            ParameterStore store = new ParameterStore(manager, false);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray y = half.forward(store, new NDList(x), true).singletonOrThrow();
                assertEquals(DataType.FLOAT32, y.getDataType());
                collector.backward(y.square().sum());
                NDArray yFull = full.forward(store, new NDList(x), true).singletonOrThrow();
                collector.backward(yFull.square().sum());
                float[] a = y.toFloatArray();
                float[] b = yFull.toFloatArray();
                for (int i = 0; i < a.length; i++) {
                    assertEquals(b[i], a[i], 2e-2 * Math.max(1, Math.abs(b[i])));
                }
            }
            float[] gHalf = half.getLoraA().getArray().getGradient().toFloatArray();
            float[] gFull = full.getLoraA().getArray().getGradient().toFloatArray();
            assertEquals(DataType.FLOAT32, half.getLoraA().getArray().getGradient().getDataType());
            for (int i = 0; i < gFull.length; i++) {
                assertEquals(gFull[i], gHalf[i], 5e-2 * Math.max(1, Math.abs(gFull[i])));
            }
        }
    }

    @Test
    void engineTrainsWithFloat16FrozenWeightsAndLossScaling() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = new LlamaForCausalLM(TinyModels.config(24));
            RandomWeights.initialize(model, manager, DataType.FLOAT16, 7, 0.05f);
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.LORA_PRO).optR(4).optAlpha(8).optLr(0.01f).optMaxSteps(8)
                    .optGlobalBatch(8).optMicroBatch(4).optWarmupRatio(0.1).optFp16Frozen(true)
                    .optDevice(DeviceChoice.CPU).setOutputDir(tmp).build();
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model)).setConfig(config).setManager(manager)
                    .setTrainExamples(TinyModels.copyPlusOne(48, 24, 1))
                    .optLossScaling(1024, 2).build()) {
                TrainResult result = engine.run();
                double[] losses = result.losses();
                assertTrue(Double.isFinite(result.finalLoss()));
                assertTrue(losses[losses.length - 1] < losses[0], java.util.Arrays.toString(losses));
                assertEquals(DataType.FLOAT16, model.getModel().getEmbedTokens().getWeight().getArray().getDataType());
                TrainerState state = TrainerState.read(result.checkpoint());
                // from 1024, doubling every 2 good steps: 8 good steps give 16384; a skip halves
                if (result.skippedSteps() == 0) {
                    assertEquals(16384, state.lossScale());
                } else {
                    assertTrue(state.lossScale() < 16384, "scale " + state.lossScale());
                }
            }
        }
    }
}
