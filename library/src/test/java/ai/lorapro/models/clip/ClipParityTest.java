package ai.lorapro.models.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** clip-tiny against transformers 5.17: embeddings, logits, loss and gradients. */
class ClipParityTest {

    private static final double TOLERANCE = 1e-4;

    private final Path dir = Fixtures.hfTiny().resolve("clip-tiny");

    @Test
    void namesAreTheCheckpointKeys() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            ClipModel model = ClipModel.fromPretrained(dir, manager);
            assertEquals(weights.names(), ModuleTree.namedParameters(model).keySet());
        }
    }

    @Test
    void outputsAndLossMatchTransformers() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel model = ClipModel.fromPretrained(dir, manager);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray mask = ref.contains("attention_mask") ? ref.load(manager, "attention_mask") : null;
            ClipModel.Output out =
                    model.forward(store, ref.load(manager, "pixel_values"), ref.load(manager, "input_ids"), mask, false);
            assertClose("vision_last_hidden_state", out.vision().lastHiddenState(), ref.load(manager, "vision_last_hidden_state"));
            assertClose("vision_pooler_output", out.imageFeatures(), ref.load(manager, "vision_pooler_output"));
            assertClose("image_embeds", out.imageEmbeds(), ref.load(manager, "image_embeds"));
            assertClose("text_embeds", out.textEmbeds(), ref.load(manager, "text_embeds"));
            assertClose("logits_per_image", out.logitsPerImage(), ref.load(manager, "logits_per_image"));
            NDArray loss = CrossEntropy.mean(out.logitsPerImage(), ref.load(manager, "ce_labels"));
            assertClose("ce_loss", loss.reshape(1), ref.load(manager, "ce_loss"));
        }
    }

    @Test
    void gradientsMatchTransformers() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel model = ClipModel.fromPretrained(dir, manager);
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            params.values().forEach(p -> p.freeze(false));
            ParameterStore store = new ParameterStore(manager, false);
            NDArray mask = ref.contains("attention_mask") ? ref.load(manager, "attention_mask") : null;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                ClipModel.Output out =
                        model.forward(store, ref.load(manager, "pixel_values"), ref.load(manager, "input_ids"), mask, true);
                collector.backward(CrossEntropy.mean(out.logitsPerImage(), ref.load(manager, "ce_labels")));
            }
            List<String> checked = Fixtures.assertGradientsMatch(ref, params, manager, TOLERANCE);
            assertFalse(checked.isEmpty(), "the reference holds no gradients");
        }
    }

    @Test
    void rightPaddingWithAMaskLeavesTheTextEmbeddingsUnchanged() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel model = ClipModel.fromPretrained(dir, manager);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray ids = ref.load(manager, "input_ids");
            long rows = ids.getShape().get(0);
            long length = ids.getShape().get(1);
            NDArray padded = ids.concat(manager.zeros(new Shape(rows, 3), DataType.INT64), 1);
            NDArray mask = manager.ones(new Shape(rows, length), DataType.INT64)
                    .concat(manager.zeros(new Shape(rows, 3), DataType.INT64), 1);
            NDArray features = ClipModel.normalize(model.textFeatures(store, padded, mask, false));
            assertClose("padded text_embeds", features, ref.load(manager, "text_embeds"));
        }
    }

    static void assertClose(String what, NDArray actual, NDArray expected) {
        Fixtures.assertClose(what, actual, expected, TOLERANCE);
    }
}
