package ai.lorapro.models.t5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.Fixtures;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** t5-tiny (relu) and t5-tiny-gated (gated-gelu) against transformers 5.17. */
class T5ParityTest {

    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void namesAreTheCheckpointKeys(String fixture) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(dir, manager);
            assertEquals(weights.names(), ModuleTree.namedParameters(model).keySet());
            // neither fixture stores lm_head.weight: both heads reuse shared.weight
            assertNull(model.getLmHead());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void logitsLossAndEncoderStateMatchTransformers(String fixture) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(dir, manager);
            ParameterStore store = new ParameterStore(manager, false);
            T5ForConditionalGeneration.Output out =
                    model.forward(
                            store,
                            ref.load(manager, "input_ids"),
                            ref.load(manager, "attention_mask"),
                            ref.load(manager, "labels"),
                            false);
            assertClose("encoder_last_hidden_state", out.encoderLastHiddenState(), ref.load(manager, "encoder_last_hidden_state"));
            assertClose("logits", out.logits(), ref.load(manager, "logits"));
            assertClose("loss", out.loss().reshape(1), ref.load(manager, "loss"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"t5-tiny", "t5-tiny-gated"})
    void gradientsMatchTransformers(String fixture) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(dir, manager);
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            params.values().forEach(p -> p.freeze(false));
            ParameterStore store = new ParameterStore(manager, false);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                T5ForConditionalGeneration.Output out =
                        model.forward(
                                store,
                                ref.load(manager, "input_ids"),
                                ref.load(manager, "attention_mask"),
                                ref.load(manager, "labels"),
                                true);
                collector.backward(out.loss());
            }
            List<String> checked = Fixtures.assertGradientsMatch(ref, params, manager, TOLERANCE);
            assertEquals(5, checked.size(), "gradients checked: " + checked);
            assertTrue(checked.contains("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"));
        }
    }

    static void assertClose(String what, NDArray actual, NDArray expected) {
        Fixtures.assertClose(what, actual, expected, TOLERANCE);
    }
}
