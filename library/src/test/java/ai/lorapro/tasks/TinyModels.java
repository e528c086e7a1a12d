package ai.lorapro.tasks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.io.SafetensorsWriter;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.bigram.BigramLm;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.clip.ClipConfig;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.models.t5.T5Config;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.nn.ModuleTree;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Random tiny models saved as Hugging Face directories (config.json, model.safetensors,
 * tokenizer.json) whose embeddings fit the hf-tiny tokenizers: the fixture configs with a larger
 * vocabulary (and, for Llama and CLIP text, more positions so that prompt templates fit).
 */
final class TinyModels {

    private TinyModels() {}

    static Path tokenizer(String name) {
        return Fixtures.hfTiny().resolve("tokenizers").resolve(name + ".json");
    }

    /** A random T5 in {@code dir} with the t5-like tokenizer. */
    static Path t5(Path dir) {
        JsonObject config = fixtureConfig("t5-tiny");
        config.addProperty("vocab_size", 256);
        write(dir, config, "t5-like");
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration model =
                    T5ForConditionalGeneration.random(T5Config.fromJson(dir.resolve("config.json")), manager, 5);
            save(dir, model);
        }
        return dir;
    }

    /** A random Llama in {@code dir} with the llama-like tokenizer. */
    static Path llama(Path dir) {
        JsonObject config = fixtureConfig("llama-tiny");
        config.addProperty("vocab_size", 400);
        config.addProperty("max_position_embeddings", 1024);
        write(dir, config, "llama-like");
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = LlamaForCausalLM.random(LlamaConfig.fromJson(dir.resolve("config.json")), manager, 5);
            save(dir, model);
        }
        return dir;
    }

    /** A random CLIP (32x32 px) in {@code dir} with the clip-like tokenizer. */
    static Path clip(Path dir) {
        JsonObject config = fixtureConfig("clip-tiny");
        JsonObject text = config.getAsJsonObject("text_config");
        text.addProperty("vocab_size", 300);
        text.addProperty("max_position_embeddings", 64);
        text.addProperty("bos_token_id", 0);
        text.addProperty("eos_token_id", 1);
        write(dir, config, "clip-like");
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel model = ClipModel.random(ClipConfig.fromJson(dir.resolve("config.json")), manager, 5);
            save(dir, model);
        }
        return dir;
    }

    /** A random model of the test-only bigram family in {@code dir} with the llama-like tokenizer. */
    static Path bigram(Path dir) {
        JsonObject config = new JsonObject();
        config.addProperty("model_type", "bigram");
        config.addProperty("vocab_size", 400);
        config.addProperty("hidden_size", 32);
        config.addProperty("eos_token_id", 2);
        write(dir, config, "llama-like");
        try (NDManager manager = NDManager.newBaseManager()) {
            BigramLm model = new BigramLm(400, 32);
            RandomWeights.initialize(model, manager, DataType.FLOAT32, 5, 0.1f);
            save(dir, model);
        }
        return dir;
    }

    private static JsonObject fixtureConfig(String name) {
        try {
            return JsonParser.parseString(Files.readString(Fixtures.hfTiny().resolve(name).resolve("config.json")))
                    .getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path dir, JsonObject config, String tokenizer) {
        try {
            Files.createDirectories(dir);
            Files.writeString(dir.resolve("config.json"), new GsonBuilder().setPrettyPrinting().create().toJson(config));
            Files.copy(tokenizer(tokenizer), dir.resolve("tokenizer.json"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void save(Path dir, Block model) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> entry : ModuleTree.namedParameters(model).entrySet()) {
            arrays.put(entry.getKey(), entry.getValue().getArray());
        }
        SafetensorsWriter.write(dir.resolve("model.safetensors"), arrays, Map.of("format", "pt"));
    }
}
