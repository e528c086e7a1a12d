package ai.lorapro.models.llama;

import ai.lorapro.models.common.ConfigJson;

/** Reads the fields of a Llama {@code config.json} into a {@link LlamaConfig}, strictly. */
final class LlamaConfigJson {

    private LlamaConfigJson() {}

    static LlamaConfig parse(ConfigJson json) {
        json.requireModelType("llama");
        String act = json.optString("hidden_act", "silu");
        if (!"silu".equals(act)) {
            throw json.fail("hidden_act", "'" + act + "' is not supported (only silu)");
        }
        int tp = json.optInt("pretraining_tp", 1);
        if (tp != 1) {
            throw json.fail("pretraining_tp", tp + " is not supported (only 1)");
        }
        LlamaConfig.Builder b = LlamaConfig.builder()
                .setVocabSize(json.requiredInt("vocab_size"))
                .setHiddenSize(json.requiredInt("hidden_size"))
                .setIntermediateSize(json.requiredInt("intermediate_size"))
                .setNumHiddenLayers(json.requiredInt("num_hidden_layers"))
                .setNumAttentionHeads(json.requiredInt("num_attention_heads"))
                .optNumKeyValueHeads(json.optInt("num_key_value_heads"))
                .optHeadDim(json.optInt("head_dim"))
                .optRopeTheta(ropeTheta(json))
                .optTieWordEmbeddings(json.optBoolean("tie_word_embeddings", false))
                .optAttentionBias(json.optBoolean("attention_bias", false))
                .optMlpBias(json.optBoolean("mlp_bias", false))
                .optBosTokenId(json.optInt("bos_token_id"))
                .optEosTokenIds(json.intList("eos_token_id"))
                .optPadTokenId(json.optInt("pad_token_id"));
        Double eps = json.optNumber("rms_norm_eps");
        if (eps != null) {
            b.optRmsNormEps(eps.floatValue());
        }
        Integer maxPositions = json.optInt("max_position_embeddings");
        if (maxPositions != null) {
            b.optMaxPositionEmbeddings(maxPositions);
        }
        Double range = json.optNumber("initializer_range");
        if (range != null) {
            b.optInitializerRange(range.floatValue());
        }
        return b.build(json.origin());
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
