package ai.lorapro.models.clip;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigJson;

/**
 * The text tower of CLIP ({@code CLIPTextConfig}).
 *
 * @param tower the transformer sizes
 * @param vocabSize {@code vocab_size}
 * @param maxPositionEmbeddings {@code max_position_embeddings}, the longest input
 * @param eosTokenId {@code eos_token_id}: the text is pooled at its first occurrence (or, for
 *     legacy configs with the value 2, at the largest token id, as transformers does)
 */
public record ClipTextConfig(ClipTowerConfig tower, int vocabSize, int maxPositionEmbeddings, int eosTokenId) {

    /** transformers' defaults (openai/clip-vit-base-patch32). */
    static final ClipTowerConfig DEFAULTS = new ClipTowerConfig(512, 2048, 12, 8, Activation.QUICK_GELU, 1e-5f);

    /**
     * Checks the sizes.
     *
     * @throws InvalidInputException naming the field if a value is invalid
     */
    public ClipTextConfig {
        if (tower == null) {
            throw new InvalidInputException("text_config is required");
        }
        if (vocabSize < 1) {
            throw new InvalidInputException("field 'text_config.vocab_size' must be positive, got " + vocabSize);
        }
        if (maxPositionEmbeddings < 1) {
            throw new InvalidInputException(
                    "field 'text_config.max_position_embeddings' must be positive, got " + maxPositionEmbeddings);
        }
    }

    /** Whether pooling takes the largest token id (legacy configs with eos_token_id 2). */
    public boolean poolsAtLargestId() {
        return eosTokenId == 2;
    }

    static ClipTextConfig read(ConfigJson json) {
        ClipTowerConfig tower = ClipTowerConfig.read(json, DEFAULTS);
        int vocab = json.optInt("vocab_size", 49408);
        int positions = json.optInt("max_position_embeddings", 77);
        if (vocab < 1) {
            throw json.fail("vocab_size", "must be positive, got " + vocab);
        }
        if (positions < 1) {
            throw json.fail("max_position_embeddings", "must be positive, got " + positions);
        }
        return new ClipTextConfig(tower, vocab, positions, json.optInt("eos_token_id", 49407));
    }
}
