package ai.lorapro.models.t5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

/** LoRA on T5: all-linear targets, identity at B = 0, merge leaves the outputs unchanged. */
class T5LoraTest {

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void allLinearAdaptsAttentionAndFeedForwardOfBothStacks(String fixture) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(dir, manager);
            List<String> adapted = LoraInjector.inject(model, LoraConfig.builder().setR(4).build());
            String[] ff = model.getConfig().gatedAct()
                    ? new String[] {"DenseReluDense.wi_0", "DenseReluDense.wi_1", "DenseReluDense.wo"}
                    : new String[] {"DenseReluDense.wi", "DenseReluDense.wo"};
            TreeSet<String> expected = new TreeSet<>();
            for (int i = 0; i < 2; i++) {
                for (String p : new String[] {"q", "k", "v", "o"}) {
                    expected.add("encoder.block." + i + ".layer.0.SelfAttention." + p);
                    expected.add("decoder.block." + i + ".layer.0.SelfAttention." + p);
                    expected.add("decoder.block." + i + ".layer.1.EncDecAttention." + p);
                }
                for (String p : ff) {
                    expected.add("encoder.block." + i + ".layer.1." + p);
                    expected.add("decoder.block." + i + ".layer.2." + p);
                }
            }
            assertEquals(expected, new TreeSet<>(adapted));
        }
    }

    @Test
    void untiedHeadIsNotAdaptedByAllLinear() {
        T5Config config = T5Config.fromJson(Fixtures.hfTiny().resolve("t5-tiny-gated/config.json")).withUntiedHead();
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.random(config, manager, 3);
            List<String> adapted = LoraInjector.inject(model, LoraConfig.builder().setR(2).build());
            assertTrue(model.getLmHead() != null);
            assertTrue(!adapted.contains("lm_head"), adapted.toString());
            assertEquals(2 * (4 + 3) + 2 * (4 + 4 + 3), adapted.size());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void zeroBIsTheIdentityAndMergeKeepsTheOutputs(String fixture) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(dir, manager);
            NDArray ids = ref.load(manager, "input_ids");
            NDArray mask = ref.load(manager, "attention_mask");
            NDArray labels = ref.load(manager, "labels");
            ParameterStore store = new ParameterStore(manager, false);
            float[] base = model.forward(store, ids, mask, labels, false).logits().toFloatArray();

            LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8).build());
            assertArrayEquals(base, model.forward(store, ids, mask, labels, false).logits().toFloatArray());

            Random random = new Random(11);
            for (LoraLinear layer : LoraInjector.adaptedLayers(model).values()) {
                NDArray b = layer.getLoraB().getArray();
                float[] values = new float[Math.toIntExact(b.size())];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (random.nextGaussian() * 0.1);
                }
                b.set(values);
            }
            T5ForConditionalGeneration.Output adapted = model.forward(store, ids, mask, labels, false);
            double change = Fixtures.relativeError(adapted.logits(), manager.create(base, adapted.logits().getShape()));
            assertTrue(change > 1e-3, "a non-zero B must change the logits, changed by " + change);

            LoraInjector.mergeAll(model);
            T5ForConditionalGeneration.Output merged = model.forward(store, ids, mask, labels, false);
            double logitsError = Fixtures.relativeError(merged.logits(), adapted.logits());
            assertTrue(logitsError < 1e-4, "merged logits relative error " + logitsError);
            double encoderError =
                    Fixtures.relativeError(merged.encoderLastHiddenState(), adapted.encoderLastHiddenState());
            assertTrue(encoderError < 1e-4, "merged encoder state relative error " + encoderError);
            double lossError = Fixtures.relativeError(merged.loss().reshape(1), adapted.loss().reshape(1));
            assertTrue(lossError < 1e-4, "merged loss relative error " + lossError);
        }
    }
}
