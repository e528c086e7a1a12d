package ai.lorapro.models.llama;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.util.ArrayList;
import java.util.List;

/** Reads the fields of a Llama {@code config.json} into a {@link LlamaConfig}, strictly. */
final class LlamaConfigJson {

    private final JsonObject json;
    private final String origin;

    private LlamaConfigJson(JsonObject json, String origin) {
        this.json = json;
        this.origin = origin;
    }

    static LlamaConfig parse(JsonObject json, String origin) {
        return new LlamaConfigJson(json, origin).parse();
    }

    private LlamaConfig parse() {
        String modelType = string(json, "model_type", null);
        if (!"llama".equals(modelType)) {
            throw fail("model_type", modelType == null ? "is required" : "is '" + modelType + "', expected 'llama'");
        }
        String act = string(json, "hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw fail("hidden_act", "'" + act + "' is not supported (only silu)");
        }
        Integer tp = integer(json, "pretraining_tp", false);
        if (tp != null && tp != 1) {
            throw fail("pretraining_tp", tp + " is not supported (only 1)");
        }
        LlamaConfig.Builder b = LlamaConfig.builder()
                .setVocabSize(integer(json, "vocab_size", true))
                .setHiddenSize(integer(json, "hidden_size", true))
                .setIntermediateSize(integer(json, "intermediate_size", true))
                .setNumHiddenLayers(integer(json, "num_hidden_layers", true))
                .setNumAttentionHeads(integer(json, "num_attention_heads", true))
                .optNumKeyValueHeads(integer(json, "num_key_value_heads", false))
                .optHeadDim(integer(json, "head_dim", false))
                .optRopeTheta(ropeTheta())
                .optTieWordEmbeddings(bool("tie_word_embeddings", false))
                .optAttentionBias(bool("attention_bias", false))
                .optMlpBias(bool("mlp_bias", false))
                .optBosTokenId(integer(json, "bos_token_id", false))
                .optEosTokenIds(eosTokenIds())
                .optPadTokenId(integer(json, "pad_token_id", false));
        Double eps = number(json, "rms_norm_eps");
        if (eps != null) {
            b.optRmsNormEps(eps.floatValue());
        }
        Integer maxPositions = integer(json, "max_position_embeddings", false);
        if (maxPositions != null) {
            b.optMaxPositionEmbeddings(maxPositions);
        }
        Double range = number(json, "initializer_range");
        if (range != null) {
            b.optInitializerRange(range.floatValue());
        }
        return b.build(origin);
    }

    /**
     * rope_theta from {@code rope_parameters} (transformers 5) or the top level (Llama-2 files);
     * any RoPE variant other than "default" is refused.
     */
    private double ropeTheta() {
        Double theta = number(json, "rope_theta");
        for (String field : new String[] {"rope_parameters", "rope_scaling"}) {
            JsonElement e = json.get(field);
            if (e == null || e.isJsonNull()) {
                continue;
            }
            if (!e.isJsonObject()) {
                throw fail(field, "must be an object or null");
            }
            JsonObject rope = e.getAsJsonObject();
            String type = string(rope, "rope_type", string(rope, "type", "default"));
            if (!"default".equals(type)) {
                throw fail(field, "rope_type '" + type + "' is not supported (only default)");
            }
            Double inner = number(rope, "rope_theta");
            if (inner != null) {
                theta = inner;
            }
        }
        return theta == null ? 10000.0 : theta;
    }

    private List<Integer> eosTokenIds() {
        JsonElement e = json.get("eos_token_id");
        List<Integer> ids = new ArrayList<>();
        if (e == null || e.isJsonNull()) {
            return ids;
        }
        if (e.isJsonArray()) {
            for (JsonElement id : e.getAsJsonArray()) {
                ids.add(asInt(id, "eos_token_id"));
            }
        } else {
            ids.add(asInt(e, "eos_token_id"));
        }
        return ids;
    }

    private boolean bool(String field, boolean fallback) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw fail(field, "must be true or false");
        }
        return e.getAsBoolean();
    }

    private Integer integer(JsonObject o, String field, boolean required) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            if (required) {
                throw fail(field, "is required");
            }
            return null;
        }
        return asInt(e, field);
    }

    private int asInt(JsonElement e, String field) {
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw fail(field, "must be an integer");
        }
        double d = e.getAsDouble();
        if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
            throw fail(field, "must be an integer, got " + e);
        }
        return (int) d;
    }

    private Double number(JsonObject o, String field) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw fail(field, "must be a number");
        }
        return e.getAsDouble();
    }

    private String string(JsonObject o, String field, String fallback) {
        JsonElement e = o.get(field);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonPrimitive() || !((JsonPrimitive) e).isString()) {
            throw fail(field, "must be a string");
        }
        return e.getAsString();
    }

    private InvalidInputException fail(String field, String message) {
        return new InvalidInputException(origin + ": field '" + field + "' " + message);
    }
}
