package ai.lorapro.models.t5;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;

/**
 * The architecture of a T5 model, as Hugging Face's {@code T5Config}. Immutable; read one with
 * {@link #fromJson(Path)} or build one with {@link #builder()}.
 *
 * <p>{@code feed_forward_proj} is "relu" (original T5, {@code wi, wo}) or "gated-gelu" (T5 v1.1 /
 * Flan-T5, {@code wi_0, wi_1, wo} with the tanh-approximated {@code gelu_new}, as transformers maps
 * it), or another {@code [gated-]act} of {@link Activation}.
 *
 * <p>Output head: with {@code tie_word_embeddings} the logits reuse {@code shared.weight};
 * otherwise there is an {@code lm_head}. The decoder output is multiplied by d_model^-0.5 before
 * the head when {@code scale_decoder_outputs} is true; transformers 5 writes that field, and for
 * older files that lack it it follows {@code tie_word_embeddings}, as transformers does.
 */
public final class T5Config {

    private final int vocabSize;
    private final int dModel;
    private final int dKv;
    private final int dFf;
    private final int numLayers;
    private final int numDecoderLayers;
    private final int numHeads;
    private final int relativeAttentionNumBuckets;
    private final int relativeAttentionMaxDistance;
    private final String feedForwardProj;
    private final Activation activation;
    private final boolean gatedAct;
    private final float layerNormEpsilon;
    private final boolean tieWordEmbeddings;
    private final boolean scaleDecoderOutputs;
    private final int decoderStartTokenId;
    private final int padTokenId;
    private final int eosTokenId;
    private final float initializerFactor;

    private T5Config(Builder b, String origin) {
        this.vocabSize = ConfigJson.positive(b.vocabSize, "vocab_size", origin);
        this.dModel = ConfigJson.positive(b.dModel, "d_model", origin);
        this.dKv = ConfigJson.positive(b.dKv, "d_kv", origin);
        this.dFf = ConfigJson.positive(b.dFf, "d_ff", origin);
        this.numLayers = ConfigJson.positive(b.numLayers, "num_layers", origin);
        this.numDecoderLayers =
                ConfigJson.positive(b.numDecoderLayers == null ? numLayers : b.numDecoderLayers, "num_decoder_layers", origin);
        this.numHeads = ConfigJson.positive(b.numHeads, "num_heads", origin);
        this.relativeAttentionNumBuckets =
                ConfigJson.positive(b.relativeAttentionNumBuckets, "relative_attention_num_buckets", origin);
        this.relativeAttentionMaxDistance =
                ConfigJson.positive(b.relativeAttentionMaxDistance, "relative_attention_max_distance", origin);
        if (relativeAttentionNumBuckets < 4) {
            throw ConfigJson.fail(origin, "relative_attention_num_buckets", "must be at least 4, got " + relativeAttentionNumBuckets);
        }
        this.feedForwardProj = b.feedForwardProj;
        String[] parts = feedForwardProj.split("-", -1);
        if (parts.length > 2 || (parts.length == 2 && !"gated".equals(parts[0])) || parts[parts.length - 1].isEmpty()) {
            throw ConfigJson.fail(origin, "feed_forward_proj",
                    "'" + feedForwardProj + "' is not 'ACT' or 'gated-ACT' (e.g. 'relu', 'gated-gelu')");
        }
        this.gatedAct = parts.length == 2;
        // transformers maps "gated-gelu" to gelu_new for backwards compatibility (T5 v1.1)
        String act = "gated-gelu".equals(feedForwardProj) ? "gelu_new" : parts[parts.length - 1];
        try {
            this.activation = Activation.fromHfName(act, "feed_forward_proj");
        } catch (InvalidInputException e) {
            throw ConfigJson.fail(origin, "feed_forward_proj", "'" + feedForwardProj + "' is not supported");
        }
        if (!(b.layerNormEpsilon > 0)) {
            throw ConfigJson.fail(origin, "layer_norm_epsilon", "must be positive, got " + b.layerNormEpsilon);
        }
        this.layerNormEpsilon = b.layerNormEpsilon;
        this.tieWordEmbeddings = b.tieWordEmbeddings;
        this.scaleDecoderOutputs = b.scaleDecoderOutputs == null ? tieWordEmbeddings : b.scaleDecoderOutputs;
        this.padTokenId = tokenId(b.padTokenId, "pad_token_id", origin);
        this.eosTokenId = tokenId(b.eosTokenId, "eos_token_id", origin);
        this.decoderStartTokenId =
                tokenId(b.decoderStartTokenId == null ? padTokenId : b.decoderStartTokenId, "decoder_start_token_id", origin);
        this.initializerFactor = b.initializerFactor;
    }

    private int tokenId(int id, String field, String origin) {
        if (id < 0 || id >= vocabSize) {
            throw ConfigJson.fail(origin, field, id + " is outside the vocabulary [0, " + vocabSize + ")");
        }
        return id;
    }

    /** A builder with Hugging Face's defaults for everything but the sizes. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "t5".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, the
     *     model type is not t5, a required field is missing or malformed, or {@code
     *     feed_forward_proj} is unsupported
     */
    public static T5Config fromJson(Path file) {
        ConfigJson json = ConfigJson.read(file);
        json.requireModelType("t5");
        Builder b = builder()
                .setVocabSize(json.requiredInt("vocab_size"))
                .setDModel(json.requiredInt("d_model"))
                .setDKv(json.requiredInt("d_kv"))
                .setDFf(json.requiredInt("d_ff"))
                .setNumLayers(json.requiredInt("num_layers"))
                .setNumHeads(json.requiredInt("num_heads"))
                .optNumDecoderLayers(json.optInt("num_decoder_layers"))
                .optRelativeAttention(
                        json.optInt("relative_attention_num_buckets", 32),
                        json.optInt("relative_attention_max_distance", 128))
                .optFeedForwardProj(json.optString("feed_forward_proj", "relu"))
                .optLayerNormEpsilon((float) json.optNumber("layer_norm_epsilon", 1e-6))
                .optTieWordEmbeddings(json.optBoolean("tie_word_embeddings", true))
                .optPadTokenId(json.optInt("pad_token_id", 0))
                .optEosTokenId(json.optInt("eos_token_id", 1))
                .optDecoderStartTokenId(json.optInt("decoder_start_token_id"))
                .optInitializerFactor((float) json.optNumber("initializer_factor", 1.0));
        if (json.has("scale_decoder_outputs")) {
            b.optScaleDecoderOutputs(json.optBoolean("scale_decoder_outputs", true));
        }
        return b.build(json.origin());
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        return builder()
                .setVocabSize(vocabSize)
                .setDModel(dModel)
                .setDKv(dKv)
                .setDFf(dFf)
                .setNumLayers(numLayers)
                .setNumHeads(numHeads)
                .optNumDecoderLayers(numDecoderLayers)
                .optRelativeAttention(relativeAttentionNumBuckets, relativeAttentionMaxDistance)
                .optFeedForwardProj(feedForwardProj)
                .optLayerNormEpsilon(layerNormEpsilon)
                .optTieWordEmbeddings(tieWordEmbeddings)
                .optScaleDecoderOutputs(scaleDecoderOutputs)
                .optPadTokenId(padTokenId)
                .optEosTokenId(eosTokenId)
                .optDecoderStartTokenId(decoderStartTokenId)
                .optInitializerFactor(initializerFactor);
    }

    /** {@code vocab_size}. */
    public int getVocabSize() {
        return vocabSize;
    }

    /** {@code d_model}, the model width. */
    public int getDModel() {
        return dModel;
    }

    /** {@code d_kv}, the size of each attention head. */
    public int getDKv() {
        return dKv;
    }

    /** {@code d_ff}, the feed-forward inner width. */
    public int getDFf() {
        return dFf;
    }

    /** {@code num_layers}, the encoder depth. */
    public int getNumLayers() {
        return numLayers;
    }

    /** {@code num_decoder_layers} (default {@code num_layers}). */
    public int getNumDecoderLayers() {
        return numDecoderLayers;
    }

    /** {@code num_heads}. */
    public int getNumHeads() {
        return numHeads;
    }

    /** {@code relative_attention_num_buckets}. */
    public int getRelativeAttentionNumBuckets() {
        return relativeAttentionNumBuckets;
    }

    /** {@code relative_attention_max_distance}. */
    public int getRelativeAttentionMaxDistance() {
        return relativeAttentionMaxDistance;
    }

    /** {@code feed_forward_proj} as written, e.g. "relu" or "gated-gelu". */
    public String getFeedForwardProj() {
        return feedForwardProj;
    }

    /** The feed-forward activation (gelu_new's tanh approximation for "gated-gelu"). */
    public Activation getActivation() {
        return activation;
    }

    /** Whether the feed-forward block is gated ({@code wi_0, wi_1}). */
    public boolean isGatedAct() {
        return gatedAct;
    }

    /** {@code layer_norm_epsilon}. */
    public float getLayerNormEpsilon() {
        return layerNormEpsilon;
    }

    /** Whether the logits reuse {@code shared.weight} (no {@code lm_head}). */
    public boolean isTieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    /** Whether the decoder output is scaled by d_model^-0.5 before the head. */
    public boolean isScaleDecoderOutputs() {
        return scaleDecoderOutputs;
    }

    /** {@code decoder_start_token_id} (default {@code pad_token_id}). */
    public int getDecoderStartTokenId() {
        return decoderStartTokenId;
    }

    /** {@code pad_token_id}. */
    public int getPadTokenId() {
        return padTokenId;
    }

    /** {@code eos_token_id}. */
    public int getEosTokenId() {
        return eosTokenId;
    }

    /** {@code initializer_factor}, the scale of random initialisation. */
    public float getInitializerFactor() {
        return initializerFactor;
    }

    /** Builds a {@link T5Config}. */
    public static final class Builder {
        private Integer vocabSize;
        private Integer dModel;
        private Integer dKv;
        private Integer dFf;
        private Integer numLayers;
        private Integer numDecoderLayers;
        private Integer numHeads;
        private int relativeAttentionNumBuckets = 32;
        private int relativeAttentionMaxDistance = 128;
        private String feedForwardProj = "relu";
        private float layerNormEpsilon = 1e-6f;
        private boolean tieWordEmbeddings = true;
        private Boolean scaleDecoderOutputs;
        private int padTokenId;
        private int eosTokenId = 1;
        private Integer decoderStartTokenId;
        private float initializerFactor = 1f;

        private Builder() {}

        /** {@code vocab_size}. */
        public Builder setVocabSize(int vocabSize) {
            this.vocabSize = vocabSize;
            return this;
        }

        /** {@code d_model}. */
        public Builder setDModel(int dModel) {
            this.dModel = dModel;
            return this;
        }

        /** {@code d_kv}. */
        public Builder setDKv(int dKv) {
            this.dKv = dKv;
            return this;
        }

        /** {@code d_ff}. */
        public Builder setDFf(int dFf) {
            this.dFf = dFf;
            return this;
        }

        /** {@code num_layers}. */
        public Builder setNumLayers(int numLayers) {
            this.numLayers = numLayers;
            return this;
        }

        /** {@code num_decoder_layers}; null for {@code num_layers}. */
        public Builder optNumDecoderLayers(Integer numDecoderLayers) {
            this.numDecoderLayers = numDecoderLayers;
            return this;
        }

        /** {@code num_heads}. */
        public Builder setNumHeads(int numHeads) {
            this.numHeads = numHeads;
            return this;
        }

        /** {@code relative_attention_num_buckets} and {@code relative_attention_max_distance}. */
        public Builder optRelativeAttention(int numBuckets, int maxDistance) {
            this.relativeAttentionNumBuckets = numBuckets;
            this.relativeAttentionMaxDistance = maxDistance;
            return this;
        }

        /** {@code feed_forward_proj}: "relu", "gated-gelu", ... */
        public Builder optFeedForwardProj(String feedForwardProj) {
            this.feedForwardProj = feedForwardProj;
            return this;
        }

        /** {@code layer_norm_epsilon}. */
        public Builder optLayerNormEpsilon(float eps) {
            this.layerNormEpsilon = eps;
            return this;
        }

        /** {@code tie_word_embeddings}. */
        public Builder optTieWordEmbeddings(boolean tie) {
            this.tieWordEmbeddings = tie;
            return this;
        }

        /** {@code scale_decoder_outputs} (default: {@code tie_word_embeddings}). */
        public Builder optScaleDecoderOutputs(boolean scale) {
            this.scaleDecoderOutputs = scale;
            return this;
        }

        /** {@code pad_token_id}. */
        public Builder optPadTokenId(int id) {
            this.padTokenId = id;
            return this;
        }

        /** {@code eos_token_id}. */
        public Builder optEosTokenId(int id) {
            this.eosTokenId = id;
            return this;
        }

        /** {@code decoder_start_token_id}; null for {@code pad_token_id}. */
        public Builder optDecoderStartTokenId(Integer id) {
            this.decoderStartTokenId = id;
            return this;
        }

        /** {@code initializer_factor}. */
        public Builder optInitializerFactor(float factor) {
            this.initializerFactor = factor;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @throws InvalidInputException naming the field if a value is missing or invalid
         */
        public T5Config build() {
            return build("T5Config");
        }

        T5Config build(String origin) {
            return new T5Config(this, origin);
        }
    }
}
