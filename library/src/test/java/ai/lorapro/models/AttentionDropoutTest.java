package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.llama.LlamaForCausalLM;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * {@code attention_dropout} of Llama and CLIP configs, as transformers applies it: on the attention
 * probabilities in training passes only. Evaluation gives the fixture's outputs unchanged; a training
 * pass draws its mask from the engine's seed.
 */
class AttentionDropoutTest {

    @TempDir Path tmp;

    /** A copy of the fixture {@code name} whose config.json has {@code attention_dropout} in {@code objects}. */
    private Path withAttentionDropout(String name, double p, String... objects) throws IOException {
        Path fixture = Fixtures.hfTiny().resolve(name);
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        try (var files = Files.list(fixture)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dir.resolve(f.getFileName()));
            }
        }
        JsonObject config = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        if (objects.length == 0) {
            config.addProperty("attention_dropout", p);
        }
        for (String object : objects) {
            config.getAsJsonObject(object).addProperty("attention_dropout", p);
        }
        Files.writeString(dir.resolve("config.json"), config.toString());
        return dir;
    }

    @Test
    void llamaDropsAttentionProbabilitiesInTrainingOnly() throws IOException {
        Path plain = Fixtures.hfTiny().resolve("llama-tiny");
        Path dropped = withAttentionDropout("llama-tiny", 0.5);
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(plain.resolve("reference.safetensors"))) {
            NDArray ids = ref.load(manager, "input_ids");
            NDArray mask = ref.load(manager, "attention_mask");
            LlamaForCausalLM without = LlamaForCausalLM.fromPretrained(plain, manager, DataType.FLOAT32);
            LlamaForCausalLM with = LlamaForCausalLM.fromPretrained(dropped, manager, DataType.FLOAT32);
            assertEquals(0.5f, with.getConfig().attentionDropout());
            ParameterStore store = new ParameterStore(manager, false);
            assertDropsInTrainingOnly(
                    training -> without.logits(store, ids, mask, null, null, training),
                    training -> with.logits(store, ids, mask, null, null, training));
        }
    }

    /** Both towers: CLIP's text and vision configs each carry their own attention_dropout. */
    @Test
    void clipDropsAttentionProbabilitiesInTrainingOnlyInBothTowers() throws IOException {
        Path plain = Fixtures.hfTiny().resolve("clip-tiny");
        Path dropped = withAttentionDropout("clip-tiny", 0.5, "text_config", "vision_config");
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(plain.resolve("reference.safetensors"))) {
            NDArray ids = ref.load(manager, "input_ids");
            NDArray pixels = ref.load(manager, "pixel_values");
            ClipModel without = (ClipModel) ModelFamilies.readModelDir(plain).load(plain, manager, DataType.FLOAT32);
            ClipModel with = (ClipModel) ModelFamilies.readModelDir(dropped).load(dropped, manager, DataType.FLOAT32);
            assertEquals(0.5f, with.getConfig().vision().tower().attentionDropout());
            assertEquals(0.5f, with.getConfig().text().tower().attentionDropout());
            ParameterStore store = new ParameterStore(manager, false);
            assertDropsInTrainingOnly(
                    training -> without.forward(store, pixels, ids, null, training).textEmbeds(),
                    training -> with.forward(store, pixels, ids, null, training).textEmbeds());
            assertDropsInTrainingOnly(
                    training -> without.forward(store, pixels, ids, null, training).imageEmbeds(),
                    training -> with.forward(store, pixels, ids, null, training).imageEmbeds());
        }
    }

    /**
     * Evaluation with dropout equals evaluation without (bit for bit); a training pass without
     * dropout equals evaluation; with dropout, the same seed gives the same outputs and another
     * seed other ones, both far from evaluation's.
     */
    private static void assertDropsInTrainingOnly(Function<Boolean, NDArray> without, Function<Boolean, NDArray> with) {
        float[] reference = without.apply(false).toFloatArray();
        assertArrayEquals(reference, with.apply(false).toFloatArray(), "evaluation is unchanged by attention_dropout");
        assertArrayEquals(reference, without.apply(true).toFloatArray(), "no dropout, no change in training");
        Engine.getInstance().setRandomSeed(3);
        float[] first = with.apply(true).toFloatArray();
        Engine.getInstance().setRandomSeed(3);
        assertArrayEquals(first, with.apply(true).toFloatArray(), "the same seed draws the same mask");
        Engine.getInstance().setRandomSeed(4);
        float[] second = with.apply(true).toFloatArray();
        assertTrue(largestDifference(first, reference) > 1e-3, "training pass equals evaluation");
        assertTrue(largestDifference(first, second) > 1e-3, "another seed drew the same mask");
    }

    private static double largestDifference(float[] x, float[] y) {
        double largest = 0;
        for (int i = 0; i < x.length; i++) {
            largest = Math.max(largest, Math.abs(x[i] - y[i]));
        }
        return largest;
    }
}
