package ai.lorapro.models.random;

import ai.lorapro.InvalidFieldException;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Real model configurations, as their Hugging Face {@code config.json} files give them, for random
 * models at the sizes people fine-tune; and the same architectures at toy size ({@code *-tiny}), which
 * write in a second, for trying the commands and for tests.
 */
public enum ModelPreset {
    /** meta-llama/Llama-2-7b-hf: 6.74 B parameters. */
    LLAMA_2_7B("llama-2-7b"),
    /** TinyLlama/TinyLlama-1.1B: 1.10 B parameters, grouped-query attention (4 KV heads). */
    TINYLLAMA_1_1B("tinyllama-1.1b"),
    /** JackFram/llama-160m: 162 M parameters. */
    LLAMA_160M("llama-160m"),
    /** google-t5/t5-base: 223 M parameters (tied embeddings). */
    T5_BASE("t5-base"),
    /** google-t5/t5-large: 738 M parameters (tied embeddings). */
    T5_LARGE("t5-large"),
    /** openai/clip-vit-base-patch16: 150 M parameters. */
    CLIP_VIT_BASE_PATCH16("clip-vit-base-patch16"),
    /** Llama-2's architecture at toy size (hidden 64, 2 layers, GQA): for trying commands and for tests. */
    LLAMA_TINY("llama-tiny"),
    /** T5's architecture at toy size (d_model 64, 2 + 2 layers): for trying commands and for tests. */
    T5_TINY("t5-tiny"),
    /** CLIP's architecture at toy size (width 64, 2 layers per tower, 32x32 images): for tries and tests. */
    CLIP_TINY("clip-tiny");

    private final String id;

    ModelPreset(String id) {
        this.id = id;
    }

    /** The name on the command line, e.g. {@code tinyllama-1.1b}. */
    public String id() {
        return id;
    }

    /** A fresh copy of the preset's {@code config.json}. */
    public JsonObject config() {
        String resource = id + ".json";
        try (InputStream in = ModelPreset.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("preset resource " + resource + " is missing from the jar");
            }
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The command-line names of all presets. */
    public static List<String> ids() {
        List<String> ids = new ArrayList<>();
        for (ModelPreset p : values()) {
            ids.add(p.id);
        }
        return ids;
    }

    /**
     * The preset called {@code id}.
     *
     * @throws InvalidFieldException naming the field {@code preset} and the known presets
     */
    public static ModelPreset fromId(String id) {
        for (ModelPreset p : values()) {
            if (p.id.equals(id)) {
                return p;
            }
        }
        throw new InvalidFieldException("preset", "'" + id + "' is not a preset (one of " + String.join(", ", ids()) + ")");
    }
}
