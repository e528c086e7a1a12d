package ai.lorapro.models.llama;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The architecture of a Llama model, as in Hugging Face's {@code LlamaConfig}. Immutable; read
 * one with {@link #fromJson(Path)} or build one with {@link #builder()}.
 *
 * <p>Only what this implementation computes is accepted: default RoPE (no scaling), silu, and no
 * tensor-parallel pretraining slices; anything else is rejected rather than silently ignored.
 */
public final class LlamaConfig {

    private final int vocabSize;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int numHiddenLayers;
    private final int numAttentionHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final float rmsNormEps;
    private final double ropeTheta;
    private final int maxPositionEmbeddings;
    private final boolean tieWordEmbeddings;
    private final boolean attentionBias;
    private final boolean mlpBias;
    private final float initializerRange;
    private final Integer bosTokenId;
    private final List<Integer> eosTokenIds;
    private final Integer padTokenId;

    private LlamaConfig(Builder b, String origin) {
        this.vocabSize = ConfigJson.positive(b.vocabSize, "vocab_size", origin);
        this.hiddenSize = ConfigJson.positive(b.hiddenSize, "hidden_size", origin);
        this.intermediateSize = ConfigJson.positive(b.intermediateSize, "intermediate_size", origin);
        this.numHiddenLayers = ConfigJson.positive(b.numHiddenLayers, "num_hidden_layers", origin);
        this.numAttentionHeads = ConfigJson.positive(b.numAttentionHeads, "num_attention_heads", origin);
        this.numKeyValueHeads =
                ConfigJson.positive(b.numKeyValueHeads == null ? numAttentionHeads : b.numKeyValueHeads, "num_key_value_heads", origin);
        if (b.headDim == null && hiddenSize % numAttentionHeads != 0) {
            throw ConfigJson.fail(origin, "hidden_size", hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        this.headDim = ConfigJson.positive(b.headDim == null ? hiddenSize / numAttentionHeads : b.headDim, "head_dim", origin);
        if (headDim % 2 != 0) {
            throw ConfigJson.fail(origin, "head_dim", headDim + " must be even for rotary embeddings");
        }
        if (numAttentionHeads % numKeyValueHeads != 0) {
            throw ConfigJson.fail(origin, "num_key_value_heads",
                    "num_attention_heads " + numAttentionHeads + " is not divisible by " + numKeyValueHeads);
        }
        if (!(b.rmsNormEps > 0)) {
            throw ConfigJson.fail(origin, "rms_norm_eps", "must be positive, got " + b.rmsNormEps);
        }
        if (!(b.ropeTheta > 0)) {
            throw ConfigJson.fail(origin, "rope_theta", "must be positive, got " + b.ropeTheta);
        }
        this.rmsNormEps = b.rmsNormEps;
        this.ropeTheta = b.ropeTheta;
        this.maxPositionEmbeddings = ConfigJson.positive(b.maxPositionEmbeddings, "max_position_embeddings", origin);
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.attentionBias = b.attentionBias;
        this.mlpBias = b.mlpBias;
        this.initializerRange = b.initializerRange;
        this.bosTokenId = b.bosTokenId;
        this.eosTokenIds = Collections.unmodifiableList(new ArrayList<>(b.eosTokenIds));
        this.padTokenId = b.padTokenId;
        ConfigJson.requireTokenId(bosTokenId, vocabSize, "bos_token_id", origin);
        eosTokenIds.forEach(id -> ConfigJson.requireTokenId(id, vocabSize, "eos_token_id", origin));
        // -1 is how early Llama conversions said "no pad token"
        ConfigJson.requireTokenId(padTokenId == null || padTokenId == -1 ? null : padTokenId, vocabSize,
                "pad_token_id", origin);
    }

    /** A builder with Hugging Face's defaults for everything but the sizes. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "llama".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, a
     *     required field is missing or malformed, or a setting is unsupported
     */
    public static LlamaConfig fromJson(Path file) {
        return LlamaConfigJson.parse(ConfigJson.read(file));
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.vocabSize = vocabSize;
        b.hiddenSize = hiddenSize;
        b.intermediateSize = intermediateSize;
        b.numHiddenLayers = numHiddenLayers;
        b.numAttentionHeads = numAttentionHeads;
        b.numKeyValueHeads = numKeyValueHeads;
        b.headDim = headDim;
        b.rmsNormEps = rmsNormEps;
        b.ropeTheta = ropeTheta;
        b.maxPositionEmbeddings = maxPositionEmbeddings;
        b.tieWordEmbeddings = tieWordEmbeddings;
        b.attentionBias = attentionBias;
        b.mlpBias = mlpBias;
        b.initializerRange = initializerRange;
        b.bosTokenId = bosTokenId;
        b.eosTokenIds = new ArrayList<>(eosTokenIds);
        b.padTokenId = padTokenId;
        return b;
    }

    /** {@code vocab_size}. */
    public int getVocabSize() {
        return vocabSize;
    }

    /** {@code hidden_size}. */
    public int getHiddenSize() {
        return hiddenSize;
    }

    /** {@code intermediate_size}. */
    public int getIntermediateSize() {
        return intermediateSize;
    }

    /** {@code num_hidden_layers}. */
    public int getNumHiddenLayers() {
        return numHiddenLayers;
    }

    /** {@code num_attention_heads}. */
    public int getNumAttentionHeads() {
        return numAttentionHeads;
    }

    /** {@code num_key_value_heads} (equal to the heads without grouped-query attention). */
    public int getNumKeyValueHeads() {
        return numKeyValueHeads;
    }

    /** {@code head_dim} (hidden_size / heads unless given). */
    public int getHeadDim() {
        return headDim;
    }

    /** {@code rms_norm_eps}. */
    public float getRmsNormEps() {
        return rmsNormEps;
    }

    /** The RoPE base, {@code rope_theta}. */
    public double getRopeTheta() {
        return ropeTheta;
    }

    /** {@code max_position_embeddings}. */
    public int getMaxPositionEmbeddings() {
        return maxPositionEmbeddings;
    }

    /** {@code tie_word_embeddings}: the output head reuses the input embeddings. */
    public boolean isTieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    /** {@code attention_bias}: q, k, v and o have biases. */
    public boolean isAttentionBias() {
        return attentionBias;
    }

    /** {@code mlp_bias}: gate, up and down have biases. */
    public boolean isMlpBias() {
        return mlpBias;
    }

    /** {@code initializer_range}, the std of random initial weights. */
    public float getInitializerRange() {
        return initializerRange;
    }

    /** {@code bos_token_id}, or null. */
    public Integer getBosTokenId() {
        return bosTokenId;
    }

    /** {@code eos_token_id} (one id or several). */
    public List<Integer> getEosTokenIds() {
        return eosTokenIds;
    }

    /** {@code pad_token_id}, or null. */
    public Integer getPadTokenId() {
        return padTokenId;
    }

    @Override
    public String toString() {
        return "LlamaConfig{vocab=" + vocabSize + ", hidden=" + hiddenSize + ", intermediate=" + intermediateSize
                + ", layers=" + numHiddenLayers + ", heads=" + numAttentionHeads + "/" + numKeyValueHeads
                + ", head_dim=" + headDim + ", rope_theta=" + ropeTheta + ", tied=" + tieWordEmbeddings + "}";
    }

    /** Builds a {@link LlamaConfig}; sizes are required, the rest default as in transformers. */
    public static final class Builder {
        private Integer vocabSize;
        private Integer hiddenSize;
        private Integer intermediateSize;
        private Integer numHiddenLayers;
        private Integer numAttentionHeads;
        private Integer numKeyValueHeads;
        private Integer headDim;
        private float rmsNormEps = 1e-6f;
        private double ropeTheta = 10000.0;
        private Integer maxPositionEmbeddings = 2048;
        private boolean tieWordEmbeddings;
        private boolean attentionBias;
        private boolean mlpBias;
        private float initializerRange = 0.02f;
        private Integer bosTokenId = 1;
        private List<Integer> eosTokenIds = new ArrayList<>(List.of(2));
        private Integer padTokenId;

        private Builder() {}

        /** Sets {@code vocab_size}. */
        public Builder setVocabSize(int v) {
            this.vocabSize = v;
            return this;
        }

        /** Sets {@code hidden_size}. */
        public Builder setHiddenSize(int v) {
            this.hiddenSize = v;
            return this;
        }

        /** Sets {@code intermediate_size}. */
        public Builder setIntermediateSize(int v) {
            this.intermediateSize = v;
            return this;
        }

        /** Sets {@code num_hidden_layers}. */
        public Builder setNumHiddenLayers(int v) {
            this.numHiddenLayers = v;
            return this;
        }

        /** Sets {@code num_attention_heads}. */
        public Builder setNumAttentionHeads(int v) {
            this.numAttentionHeads = v;
            return this;
        }

        /** Sets {@code num_key_value_heads} (default: the number of heads). */
        public Builder optNumKeyValueHeads(Integer v) {
            this.numKeyValueHeads = v;
            return this;
        }

        /** Sets {@code head_dim} (default: hidden_size / heads). */
        public Builder optHeadDim(Integer v) {
            this.headDim = v;
            return this;
        }

        /** Sets {@code rms_norm_eps} (default 1e-6). */
        public Builder optRmsNormEps(float v) {
            this.rmsNormEps = v;
            return this;
        }

        /** Sets {@code rope_theta} (default 10000). */
        public Builder optRopeTheta(double v) {
            this.ropeTheta = v;
            return this;
        }

        /** Sets {@code max_position_embeddings} (default 2048). */
        public Builder optMaxPositionEmbeddings(int v) {
            this.maxPositionEmbeddings = v;
            return this;
        }

        /** Sets {@code tie_word_embeddings} (default false). */
        public Builder optTieWordEmbeddings(boolean v) {
            this.tieWordEmbeddings = v;
            return this;
        }

        /** Sets {@code attention_bias} (default false). */
        public Builder optAttentionBias(boolean v) {
            this.attentionBias = v;
            return this;
        }

        /** Sets {@code mlp_bias} (default false). */
        public Builder optMlpBias(boolean v) {
            this.mlpBias = v;
            return this;
        }

        /** Sets {@code initializer_range} (default 0.02). */
        public Builder optInitializerRange(float v) {
            this.initializerRange = v;
            return this;
        }

        /** Sets {@code bos_token_id} (default 1; null for none). */
        public Builder optBosTokenId(Integer v) {
            this.bosTokenId = v;
            return this;
        }

        /** Sets the {@code eos_token_id}s (default [2]). */
        public Builder optEosTokenIds(List<Integer> v) {
            this.eosTokenIds = new ArrayList<>(v);
            return this;
        }

        /** Sets {@code pad_token_id} (default none). */
        public Builder optPadTokenId(Integer v) {
            this.padTokenId = v;
            return this;
        }

        /** Builds the configuration; {@link InvalidInputException} naming the bad field. */
        public LlamaConfig build() {
            return new LlamaConfig(this, "LlamaConfig");
        }

        /** Builds, naming {@code origin} (the config file) in error messages. */
        LlamaConfig build(String origin) {
            return new LlamaConfig(this, origin);
        }
    }
}
