package ai.lorapro.models.llama;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The architecture of a Llama model, as in Hugging Face's {@code LlamaConfig}; each component is
 * the config.json key of the same name in snake case. Read one with {@link #fromJson(Path)}, or
 * write one in code with {@link #of(Map)} and the keys of config.json.
 *
 * <p>Only what this implementation computes is accepted: default RoPE (no scaling), silu, and no
 * tensor-parallel pretraining slices; anything else is rejected rather than silently ignored.
 *
 * @param vocabSize {@code vocab_size}
 * @param hiddenSize {@code hidden_size}
 * @param intermediateSize {@code intermediate_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param numKeyValueHeads {@code num_key_value_heads} (default: the heads, no grouped-query attention)
 * @param headDim {@code head_dim} (default: hidden_size / heads)
 * @param rmsNormEps {@code rms_norm_eps} (default 1e-6)
 * @param ropeTheta the RoPE base, {@code rope_theta} at the top level or in {@code rope_parameters}
 *     (default 10000)
 * @param maxPositionEmbeddings {@code max_position_embeddings} (default 2048)
 * @param tieWordEmbeddings {@code tie_word_embeddings}: the output head reuses the input embeddings
 * @param attentionBias {@code attention_bias}: q, k, v and o have biases
 * @param mlpBias {@code mlp_bias}: gate, up and down have biases
 * @param initializerRange {@code initializer_range}, the std of random initial weights (default 0.02)
 * @param bosTokenId {@code bos_token_id}, or null
 * @param eosTokenIds {@code eos_token_id} (one id or several; empty when absent)
 * @param padTokenId {@code pad_token_id}, or null
 * @param attentionDropout {@code attention_dropout}: dropout on the attention probabilities in
 *     training passes, as transformers' eager attention (default 0)
 */
public record LlamaConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int numKeyValueHeads,
        int headDim,
        float rmsNormEps,
        double ropeTheta,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        float initializerRange,
        Integer bosTokenId,
        List<Integer> eosTokenIds,
        Integer padTokenId,
        float attentionDropout) {

    /**
     * Checks the values.
     *
     * @throws ConfigFieldException naming the field of a size below 1, heads that do not divide,
     *     an odd head_dim, a non-positive epsilon or theta, a dropout outside [0, 1), or a token id
     *     outside the vocabulary
     */
    public LlamaConfig {
        ConfigFieldException.requirePositive("vocab_size", vocabSize);
        ConfigFieldException.requirePositive("hidden_size", hiddenSize);
        ConfigFieldException.requirePositive("intermediate_size", intermediateSize);
        ConfigFieldException.requireLayerCount("num_hidden_layers", numHiddenLayers);
        ConfigFieldException.requirePositive("num_attention_heads", numAttentionHeads);
        ConfigFieldException.requirePositive("num_key_value_heads", numKeyValueHeads);
        ConfigFieldException.requirePositive("head_dim", headDim);
        if (headDim % 2 != 0) {
            throw new ConfigFieldException("head_dim", headDim + " must be even for rotary embeddings");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw new ConfigFieldException("num_key_value_heads",
                    "num_attention_heads " + numAttentionHeads + " is not divisible by " + numKeyValueHeads);
        }
        ConfigFieldException.requirePositive("rms_norm_eps", rmsNormEps);
        ConfigFieldException.requirePositive("rope_theta", ropeTheta);
        ConfigFieldException.requirePositive("max_position_embeddings", maxPositionEmbeddings);
        ConfigFieldException.requireDropout("attention_dropout", attentionDropout);
        ConfigFieldException.requirePositive("initializer_range", initializerRange);
        eosTokenIds = List.copyOf(eosTokenIds);
        ConfigFieldException.requireTokenId("bos_token_id", bosTokenId, vocabSize);
        for (Integer id : eosTokenIds) {
            ConfigFieldException.requireTokenId("eos_token_id", id, vocabSize);
        }
        // -1 is how early Llama conversions said "no pad token"
        ConfigFieldException.requireTokenId("pad_token_id", padTokenId == null || padTokenId == -1 ? null : padTokenId,
                vocabSize);
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "llama".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, a
     *     required field is missing or malformed, or a setting is unsupported
     */
    public static LlamaConfig fromJson(Path file) {
        return read(ConfigJson.read(file).requireModelType(LlamaFamily.MODEL_TYPE));
    }

    /**
     * A configuration written in code, keyed as in config.json (e.g. {@code "vocab_size", 96}),
     * with the same defaults and checks as a file.
     *
     * @throws InvalidInputException naming the field of a missing or refused value
     */
    public static LlamaConfig of(Map<String, ?> values) {
        return read(ConfigJson.of(values, "LlamaConfig"));
    }

    /** The configuration {@code json} describes (its model_type is not checked here). */
    static LlamaConfig read(ConfigJson json) {
        String act = json.optString("hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw json.fail("hidden_act", "'" + act + "' is not supported (only silu)");
        }
        int tp = json.optInt("pretraining_tp", 1);
        if (tp != 1) {
            throw json.fail("pretraining_tp", tp + " is not supported (only 1)");
        }
        int hidden = json.requiredInt("hidden_size");
        int heads = json.requiredInt("num_attention_heads");
        return json.build(() -> new LlamaConfig(
                json.requiredInt("vocab_size"),
                hidden,
                json.requiredInt("intermediate_size"),
                json.requiredInt("num_hidden_layers"),
                heads,
                json.optInt("num_key_value_heads", heads),
                json.has("head_dim") ? json.requiredInt("head_dim") : defaultHeadDim(hidden, heads),
                (float) json.optNumber("rms_norm_eps", 1e-6),
                ropeTheta(json),
                json.optInt("max_position_embeddings", 2048),
                json.optBoolean("tie_word_embeddings", false),
                json.optBoolean("attention_bias", false),
                json.optBoolean("mlp_bias", false),
                (float) json.optNumber("initializer_range", 0.02),
                json.optInt("bos_token_id"),
                json.intList("eos_token_id"),
                json.optInt("pad_token_id"),
                (float) json.optNumber("attention_dropout", 0.0)));
    }

    private static int defaultHeadDim(int hidden, int heads) {
        ConfigFieldException.requirePositive("num_attention_heads", heads);
        if (hidden % heads != 0) {
            throw new ConfigFieldException("hidden_size", hidden + " is not divisible by num_attention_heads " + heads);
        }
        return hidden / heads;
    }

    /**
     * rope_theta from {@code rope_parameters} (transformers 5) or the top level (Llama-2 files);
     * any RoPE variant other than "default" is refused.
     */
    private static double ropeTheta(ConfigJson json) {
        Double theta = json.optNumber("rope_theta");
        for (String field : new String[] {"rope_parameters", "rope_scaling"}) {
            if (!json.has(field)) {
                continue;
            }
            ConfigJson rope = json.object(field);
            String type = rope.optString("rope_type", rope.optString("type", "default"));
            if (!"default".equals(type)) {
                throw json.fail(field, "rope_type '" + type + "' is not supported (only default)");
            }
            Double inner = rope.optNumber("rope_theta");
            if (inner != null) {
                theta = inner;
            }
        }
        return theta == null ? 10000.0 : theta;
    }
}
