package ai.lorapro.models.t5;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;
import java.util.Map;

/**
 * The architecture of a T5 model, as Hugging Face's {@code T5Config}; each component is the
 * config.json key of the same name in snake case. Read one with {@link #fromJson(Path)}, or write
 * one in code with {@link #of(Map)} and the keys of config.json.
 *
 * <p>{@code feed_forward_proj} is "relu" (original T5, {@code wi, wo}) or "gated-gelu" (T5 v1.1 /
 * Flan-T5, {@code wi_0, wi_1, wo} with the tanh-approximated {@code gelu_new}, as transformers maps
 * it), or another {@code [gated-]act} of {@link Activation}.
 *
 * <p>Output head: with {@code tie_word_embeddings} the logits reuse {@code shared.weight};
 * otherwise there is an {@code lm_head}. The decoder output is multiplied by d_model^-0.5 before
 * the head when {@code scale_decoder_outputs} is true; transformers 5 writes that field, and for
 * older files that lack it it follows {@code tie_word_embeddings}, as transformers does.
 *
 * @param vocabSize {@code vocab_size}
 * @param dModel {@code d_model}, the model width
 * @param dKv {@code d_kv}, the size of each attention head
 * @param dFf {@code d_ff}, the feed-forward inner width
 * @param numLayers {@code num_layers}, the encoder depth
 * @param numDecoderLayers {@code num_decoder_layers} (default {@code num_layers})
 * @param numHeads {@code num_heads}
 * @param relativeAttentionNumBuckets {@code relative_attention_num_buckets} (default 32, at least 4)
 * @param relativeAttentionMaxDistance {@code relative_attention_max_distance} (default 128)
 * @param feedForwardProj {@code feed_forward_proj} as written, e.g. "relu" (default) or "gated-gelu"
 * @param layerNormEpsilon {@code layer_norm_epsilon} (default 1e-6)
 * @param tieWordEmbeddings whether the logits reuse {@code shared.weight} (no {@code lm_head}; default true)
 * @param scaleDecoderOutputs whether the decoder output is scaled by d_model^-0.5 before the head
 * @param decoderStartTokenId {@code decoder_start_token_id} (default {@code pad_token_id})
 * @param padTokenId {@code pad_token_id} (default 0)
 * @param eosTokenId {@code eos_token_id} (default 1)
 * @param initializerFactor {@code initializer_factor}, the scale of random initialisation (default 1)
 * @param dropoutRate {@code dropout_rate} (default 0.1, as transformers): in training passes, on the
 *     embedded tokens, on each sub-layer's output before the residual sum, on the attention
 *     probabilities, on the feed-forward's inner activations and on each stack's final output
 */
public record T5Config(
        int vocabSize,
        int dModel,
        int dKv,
        int dFf,
        int numLayers,
        int numDecoderLayers,
        int numHeads,
        int relativeAttentionNumBuckets,
        int relativeAttentionMaxDistance,
        String feedForwardProj,
        float layerNormEpsilon,
        boolean tieWordEmbeddings,
        boolean scaleDecoderOutputs,
        int decoderStartTokenId,
        int padTokenId,
        int eosTokenId,
        float initializerFactor,
        float dropoutRate) {

    /**
     * Checks the values.
     *
     * @throws ConfigFieldException naming the field of a size below 1, fewer than 4 buckets, an
     *     unsupported feed_forward_proj, a non-positive epsilon, a token id outside the vocabulary,
     *     or a dropout rate outside [0, 1)
     */
    public T5Config {
        ConfigFieldException.requirePositive("vocab_size", vocabSize);
        ConfigFieldException.requirePositive("d_model", dModel);
        ConfigFieldException.requirePositive("d_kv", dKv);
        ConfigFieldException.requirePositive("d_ff", dFf);
        ConfigFieldException.requireLayerCount("num_layers", numLayers);
        ConfigFieldException.requireLayerCount("num_decoder_layers", numDecoderLayers);
        ConfigFieldException.requirePositive("num_heads", numHeads);
        ConfigFieldException.requirePositive("relative_attention_num_buckets", relativeAttentionNumBuckets);
        ConfigFieldException.requirePositive("relative_attention_max_distance", relativeAttentionMaxDistance);
        if (relativeAttentionNumBuckets < 4) {
            throw new ConfigFieldException("relative_attention_num_buckets",
                    "must be at least 4, got " + relativeAttentionNumBuckets);
        }
        // up to half the buckets (the decoder's exact range), the log-spaced buckets of long
        // distances would come out negative (at half, log(1) = 0 divides): an embedding index out of
        // range mid-run
        if (relativeAttentionMaxDistance <= relativeAttentionNumBuckets / 2) {
            throw new ConfigFieldException("relative_attention_max_distance", "must be more than"
                    + " relative_attention_num_buckets / 2 = " + relativeAttentionNumBuckets / 2 + ", got "
                    + relativeAttentionMaxDistance);
        }
        ConfigFieldException.requirePositive("initializer_factor", initializerFactor);
        activation(feedForwardProj);
        ConfigFieldException.requirePositive("layer_norm_epsilon", layerNormEpsilon);
        ConfigFieldException.requireTokenId("pad_token_id", padTokenId, vocabSize);
        ConfigFieldException.requireTokenId("eos_token_id", eosTokenId, vocabSize);
        ConfigFieldException.requireTokenId("decoder_start_token_id", decoderStartTokenId, vocabSize);
        ConfigFieldException.requireDropout("dropout_rate", dropoutRate);
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "t5".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, the
     *     model type is not t5, a required field is missing or malformed, or {@code
     *     feed_forward_proj} is unsupported
     */
    public static T5Config fromJson(Path file) {
        return read(ConfigJson.read(file).requireModelType(T5Family.MODEL_TYPE));
    }

    /**
     * A configuration written in code, keyed as in config.json (e.g. {@code "d_model", 64}), with
     * the same defaults and checks as a file.
     *
     * @throws InvalidInputException naming the field of a missing or refused value
     */
    public static T5Config of(Map<String, ?> values) {
        return read(ConfigJson.of(values, "T5Config"));
    }

    /** The configuration {@code json} describes (its model_type is not checked here). */
    static T5Config read(ConfigJson json) {
        int layers = json.requiredInt("num_layers");
        int pad = json.optInt("pad_token_id", 0);
        boolean tied = json.optBoolean("tie_word_embeddings", true);
        return json.build(() -> new T5Config(
                json.requiredInt("vocab_size"),
                json.requiredInt("d_model"),
                json.requiredInt("d_kv"),
                json.requiredInt("d_ff"),
                layers,
                json.optInt("num_decoder_layers", layers),
                json.requiredInt("num_heads"),
                json.optInt("relative_attention_num_buckets", 32),
                json.optInt("relative_attention_max_distance", 128),
                json.optString("feed_forward_proj", "relu"),
                (float) json.optNumber("layer_norm_epsilon", 1e-6),
                tied,
                json.optBoolean("scale_decoder_outputs", tied),
                json.optInt("decoder_start_token_id", pad),
                pad,
                json.optInt("eos_token_id", 1),
                (float) json.optNumber("initializer_factor", 1.0),
                (float) json.optNumber("dropout_rate", 0.1)));
    }

    /**
     * This configuration with its own {@code lm_head} (what a checkpoint that stores one needs);
     * the decoder output keeps its scaling.
     */
    public T5Config withUntiedHead() {
        return new T5Config(vocabSize, dModel, dKv, dFf, numLayers, numDecoderLayers, numHeads,
                relativeAttentionNumBuckets, relativeAttentionMaxDistance, feedForwardProj, layerNormEpsilon, false,
                scaleDecoderOutputs, decoderStartTokenId, padTokenId, eosTokenId, initializerFactor, dropoutRate);
    }

    /** The feed-forward activation (gelu_new's tanh approximation for "gated-gelu"). */
    public Activation activation() {
        return activation(feedForwardProj);
    }

    /** Whether the feed-forward block is gated ({@code wi_0, wi_1}). */
    public boolean gatedAct() {
        return feedForwardProj.startsWith("gated-");
    }

    /** The activation {@code feedForwardProj} ("ACT" or "gated-ACT") names. */
    private static Activation activation(String feedForwardProj) {
        if (feedForwardProj == null) {
            throw new ConfigFieldException("feed_forward_proj", "is required");
        }
        String[] parts = feedForwardProj.split("-", -1);
        if (parts.length > 2 || (parts.length == 2 && !"gated".equals(parts[0])) || parts[parts.length - 1].isEmpty()) {
            throw new ConfigFieldException("feed_forward_proj",
                    "'" + feedForwardProj + "' is not 'ACT' or 'gated-ACT' (e.g. 'relu', 'gated-gelu')");
        }
        // transformers maps "gated-gelu" to gelu_new for backwards compatibility (T5 v1.1)
        String act = "gated-gelu".equals(feedForwardProj) ? "gelu_new" : parts[parts.length - 1];
        try {
            return Activation.fromHfName(act, "feed_forward_proj");
        } catch (InvalidInputException e) {
            throw new ConfigFieldException("feed_forward_proj", "'" + feedForwardProj + "' is not supported");
        }
    }
}
