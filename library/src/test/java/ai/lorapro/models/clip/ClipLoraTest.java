package ai.lorapro.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/** LoRA on CLIP and on the zero-shot image classifier. */
class ClipLoraTest {

    private final Path dir = Fixtures.hfTiny().resolve("clip-tiny");

    private static void randomizeB(NDManager manager, Iterable<LoraLinear> layers, long seed) {
        Random random = new Random(seed);
        for (LoraLinear layer : layers) {
            NDArray b = layer.getLoraB().getArray();
            float[] values = new float[Math.toIntExact(b.size())];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) (random.nextGaussian() * 0.1);
            }
            b.set(values);
        }
    }

    @Test
    void allLinearOnClipModelKeepsOutputsAtZeroBAndAfterMerge() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel model = ClipModel.fromPretrained(dir, manager);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray pixels = ref.load(manager, "pixel_values");
            NDArray ids = ref.load(manager, "input_ids");
            float[] base = model.forward(store, pixels, ids, null, false).logitsPerImage().toFloatArray();

            List<String> adapted = LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8).build());
            // every encoder layer of both towers x (4 attention + 2 mlp) + the two projections
            ClipConfig config = ClipConfig.fromJson(dir.resolve("config.json"));
            int layers = config.text().tower().numHiddenLayers() + config.vision().tower().numHiddenLayers();
            assertEquals(layers * 6 + 2, adapted.size());
            assertArrayEquals(base, model.forward(store, pixels, ids, null, false).logitsPerImage().toFloatArray());

            randomizeB(manager, LoraInjector.adaptedLayers(model).values(), 5);
            ClipModel.Output adaptedOut = model.forward(store, pixels, ids, null, false);
            double change = Fixtures.relativeError(
                    adaptedOut.logitsPerImage(), manager.create(base, adaptedOut.logitsPerImage().getShape()));
            assertTrue(change > 1e-3, "a non-zero B must change the logits, changed by " + change);

            LoraInjector.mergeAll(model);
            ClipModel.Output merged = model.forward(store, pixels, ids, null, false);
            assertUnchanged("logits_per_image", merged.logitsPerImage(), adaptedOut.logitsPerImage());
            assertUnchanged("text_embeds", merged.textEmbeds(), adaptedOut.textEmbeds());
            assertUnchanged("image_embeds", merged.imageEmbeds(), adaptedOut.imageEmbeds());
        }
    }

    private static void assertUnchanged(String what, NDArray actual, NDArray expected) {
        double error = Fixtures.relativeError(actual, expected);
        assertTrue(error < 1e-4, what + " after merge: relative error " + error);
    }

    @Test
    void zeroShotClassifierReproducesClipLogits() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip, promptIds(ref, manager), manager);
            assertEquals(3, classifier.numClasses());
            NDArray logits = classifier.forward(new ParameterStore(manager, false), ref.load(manager, "pixel_values"), false);
            ClipParityTest.assertClose("zero-shot logits", logits, ref.load(manager, "logits_per_image"));
        }
    }

    @Test
    void classifierLoraTargetsTheVisionTowerAndTrainsTheHead() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip, promptIds(ref, manager), manager);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray pixels = ref.load(manager, "pixel_values");
            float[] base = classifier.forward(store, pixels, false).toFloatArray();

            List<String> adapted = LoraInjector.inject(classifier, ClipImageClassifier.loraConfig(4, 8));
            TreeSet<String> expected = new TreeSet<>();
            for (int i = 0; i < 2; i++) {
                for (String p : new String[] {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                        "self_attn.out_proj", "mlp.fc1", "mlp.fc2"}) {
                    expected.add("vision_model.encoder.layers." + i + "." + p);
                }
            }
            assertEquals(expected, new TreeSet<>(adapted));
            assertArrayEquals(base, classifier.forward(store, pixels, false).toFloatArray());

            // one backward pass: gradients reach the LoRA factors and the head, not the frozen base
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray logits = classifier.forward(store, pixels, true);
                collector.backward(CrossEntropy.mean(logits, ref.load(manager, "ce_labels")));
            }
            Map<String, Parameter> params = ModuleTree.namedParameters(classifier);
            List<String> trainable = new ArrayList<>();
            params.forEach((name, p) -> {
                if (p.requiresGradient()) {
                    trainable.add(name);
                }
            });
            assertTrue(trainable.contains("head.weight") && trainable.contains("head.bias"), trainable.toString());
            assertEquals(2 + 2 * expected.size(), trainable.size(), trainable.toString());
            float headGrad = params.get("head.weight").getArray().getGradient().abs().sum().getFloat();
            assertTrue(headGrad > 0, "the head must receive a gradient");
            assertFalse(params.get("vision_model.encoder.layers.0.self_attn.q_proj.weight").requiresGradient());
        }
    }

    @Test
    void allLinearOnTheClassifierMatchesTheDefaultTargets() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip, promptIds(ref, manager), manager);
            List<String> adapted = LoraInjector.inject(classifier, LoraConfig.builder().setR(2).build());
            // the classifier keeps the vision tower only: 6 linears per encoder layer, no projection
            int layers = ClipConfig.fromJson(dir.resolve("config.json")).vision().tower().numHiddenLayers();
            assertEquals(layers * 6, adapted.size());
            assertFalse(adapted.contains("head"));
            assertFalse(adapted.contains("visual_projection"));
            assertNull(classifier.getHead().getLoraA());
            assertNotNull(LoraInjector.adaptedLayers(classifier).get("vision_model.encoder.layers.1.mlp.fc2"));
        }
    }

    @Test
    void aClassPromptLongerThanTheTextTowerIsBadInputNamingTheClass() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            int max = clip.getConfig().text().maxPositionEmbeddings();
            long[] tooLong = new long[max + 5];
            tooLong[0] = 94;
            tooLong[tooLong.length - 1] = clip.getConfig().text().eosTokenId();
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> ClipImageClassifier.zeroShot(
                    clip, prompt -> prompt.contains("very_long") ? tooLong : new long[] {94, 5, 95},
                    List.of("cat", "very_long"), manager));
            assertTrue(e.getMessage().contains("very_long"), e.getMessage());
            assertTrue(e.getMessage().contains("max_position_embeddings " + max), e.getMessage());
        }
    }

    @Test
    void promptsFollowTheTemplate() {
        assertEquals(List.of("a photo of a cat.", "a photo of a dog."), ClipImageClassifier.prompts(List.of("cat", "dog")));
    }

    @Test
    void zeroShotTokenizesEachPrompt() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            List<long[]> ids = promptIds(ref, manager);
            List<String> seen = new ArrayList<>();
            ClipImageClassifier classifier = ClipImageClassifier.zeroShot(clip, prompt -> {
                seen.add(prompt);
                return ids.get(seen.size() - 1);
            }, List.of("cat", "dog", "bird"), manager);
            assertEquals(List.of("a photo of a cat.", "a photo of a dog.", "a photo of a bird."), seen);
            NDArray logits = classifier.forward(new ParameterStore(manager, false), ref.load(manager, "pixel_values"), false);
            ClipParityTest.assertClose("zero-shot logits", logits, ref.load(manager, "logits_per_image"));
        }
    }

    /** The reference's three texts, used as three class prompts. */
    private static List<long[]> promptIds(SafetensorsFile ref, NDManager manager) {
        NDArray ids = ref.load(manager, "input_ids");
        int rows = (int) ids.getShape().get(0);
        int length = (int) ids.getShape().get(1);
        long[] all = ids.toLongArray();
        List<long[]> out = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            long[] row = new long[length];
            System.arraycopy(all, r * length, row, 0, length);
            out.add(row);
        }
        return out;
    }
}
