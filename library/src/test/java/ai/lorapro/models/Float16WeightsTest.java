package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.t5.T5ForConditionalGeneration;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * Float16 base weights under float32 adapters for T5 and CLIP (what {@code --fp16-frozen} trains):
 * the loss and the adapters' gradients stay within half precision of the float32 model's, and the
 * base weights stay float16.
 */
class Float16WeightsTest {

    /** How a test trains a loaded model: what LoRA adapts, and the loss of one pass. */
    private interface Task {
        /** The block that LoRA adapts and the loss runs (the loaded model, or a model built on it). */
        Block prepare(Block loaded);

        /** The loss of one pass, with gradients recorded when {@code training}. */
        NDArray loss(Block prepared, boolean training);
    }

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void t5TrainsWithFloat16BaseWeights(String fixture) {
        compare(Fixtures.hfTiny().resolve(fixture), (manager, ref) -> new Task() {
            @Override
            public Block prepare(Block loaded) {
                return loaded;
            }

            @Override
            public NDArray loss(Block model, boolean training) {
                return ((T5ForConditionalGeneration) model).forward(new ParameterStore(manager, false),
                        ref.load(manager, "input_ids"), ref.load(manager, "attention_mask"),
                        ref.load(manager, "labels"), training).loss();
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"clip-tiny"})
    void clipClassifiesWithFloat16BaseWeights(String fixture) {
        compare(Fixtures.hfTiny().resolve(fixture), (manager, ref) -> new Task() {
            @Override
            public Block prepare(Block loaded) {
                List<long[]> prompts = new ArrayList<>();
                NDArray ids = ref.load(manager, "input_ids");
                for (int i = 0; i < ids.getShape().get(0); i++) {
                    prompts.add(ids.get(i).toLongArray());
                }
                return ClipImageClassifier.zeroShotFromTokenIds((ClipModel) loaded, prompts, manager);
            }

            @Override
            public NDArray loss(Block classifier, boolean training) {
                NDArray logits = ((ClipImageClassifier) classifier).forward(new ParameterStore(manager, false),
                        ref.load(manager, "pixel_values"), training);
                return CrossEntropy.mean(logits, ref.load(manager, "ce_labels"));
            }
        });
    }

    private static void compare(Path dir, BiFunction<NDManager, SafetensorsFile, Task> tasks) {
        ModelArchitecture architecture = ModelFamilies.readModelDir(dir);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            Task task = tasks.apply(manager, ref);
            float[] losses = new float[2];
            List<Map<String, LoraLinear>> adapted = new ArrayList<>();
            DataType[] types = {DataType.FLOAT32, DataType.FLOAT16};
            for (int i = 0; i < types.length; i++) {
                Block model = task.prepare(architecture.load(dir, manager, types[i]));
                LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8)
                        .optTargetModules(architecture.defaultLoraTargets()).build());
                Map<String, LoraLinear> layers = LoraInjector.adaptedLayers(model);
                Random random = new Random(11);
                for (LoraLinear layer : layers.values()) {
                    // the same random A and non-zero B in both models, so the adapters change the output
                    for (NDArray factor : new NDArray[] {layer.getLoraA().getArray(), layer.getLoraB().getArray()}) {
                        float[] values = new float[Math.toIntExact(factor.size())];
                        for (int v = 0; v < values.length; v++) {
                            values[v] = (float) (random.nextGaussian() * 0.1);
                        }
                        factor.set(values);
                    }
                }
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    NDArray loss = task.loss(model, true);
                    assertEquals(DataType.FLOAT32, loss.getDataType());
                    losses[i] = loss.getFloat();
                    collector.backward(loss);
                }
                LoraLinear first = layers.values().iterator().next();
                assertEquals(types[i], first.getWeight().getArray().getDataType());
                adapted.add(layers);
            }
            assertTrue(Float.isFinite(losses[1]), "float16 loss " + losses[1]);
            assertEquals(losses[0], losses[1], 1e-2 * Math.max(1, Math.abs(losses[0])), "loss");
            double worst = 0;
            for (String name : adapted.get(0).keySet()) {
                NDArray full = adapted.get(0).get(name).getLoraA().getArray().getGradient();
                NDArray half = adapted.get(1).get(name).getLoraA().getArray().getGradient();
                worst = Math.max(worst, Fixtures.relativeError(half, full));
            }
            assertTrue(worst < 2e-2, "worst lora_A gradient relative error " + worst);
        }
    }
}
