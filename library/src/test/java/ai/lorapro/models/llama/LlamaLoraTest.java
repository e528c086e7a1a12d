package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** LoRA on llama-tiny: injection targets, identity at B = 0, exact merge/unmerge. */
class LlamaLoraTest {

    private final Path dir = Fixtures.hfTiny().resolve("llama-tiny");

    @Test
    void allLinearAdaptsTheSevenProjectionsOfEveryLayerButNotTheHead() {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT32);
            List<String> adapted = LoraInjector.inject(model, LoraConfig.builder().setR(4).build());
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                for (String p : new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                        "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}) {
                    expected.add("model.layers." + i + "." + p);
                }
            }
            assertEquals(expected.size(), adapted.size());
            assertTrue(adapted.containsAll(expected), adapted.toString());
            assertFalse(adapted.contains("lm_head"));
        }
    }

    @Test
    void zeroBLeavesLogitsUnchangedAndMergeIsExactlyReversible() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT32);
            NDArray ids = ref.load(manager, "input_ids");
            NDArray mask = ref.load(manager, "attention_mask");
            ParameterStore store = new ParameterStore(manager, false);
            float[] base = model.logits(store, ids, mask, null, null, false).toFloatArray();

            LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8).build());
            assertArrayEquals(base, model.logits(store, ids, mask, null, null, false).toFloatArray());

            Map<String, LoraLinear> layers = LoraInjector.adaptedLayers(model);
            Random random = new Random(7);
            List<float[]> originalWeights = new ArrayList<>();
            for (LoraLinear layer : layers.values()) {
                NDArray b = layer.getLoraB().getArray();
                float[] values = new float[Math.toIntExact(b.size())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * 0.1);
                }
                b.set(values);
                originalWeights.add(layer.getWeight().getArray().toFloatArray());
            }
            NDArray adapted = model.logits(store, ids, mask, null, null, false);
            double change = Fixtures.relativeError(adapted, manager.create(base, adapted.getShape()));
            assertTrue(change > 1e-3, "a non-zero B must change the logits, changed by " + change);

            LoraInjector.mergeAll(model);
            NDArray merged = model.logits(store, ids, mask, null, null, false);
            double mergeError = Fixtures.relativeError(merged, adapted);
            assertTrue(mergeError < 1e-4, "merged logits relative error " + mergeError);

            layers.values().forEach(LoraLinear::unmerge);
            int i = 0;
            for (LoraLinear layer : layers.values()) {
                assertArrayEquals(originalWeights.get(i++), layer.getWeight().getArray().toFloatArray());
            }
            assertArrayEquals(adapted.toFloatArray(), model.logits(store, ids, mask, null, null, false).toFloatArray());
        }
    }
}
