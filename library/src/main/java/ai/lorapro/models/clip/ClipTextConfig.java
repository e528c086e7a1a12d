package ai.lorapro.models.clip;

import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.util.Objects;

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
    static final ClipTowerConfig DEFAULTS = new ClipTowerConfig(512, 2048, 12, 8, Activation.QUICK_GELU, 1e-5f, 0f);

    /**
     * Checks the sizes.
     *
     * @throws ConfigFieldException naming the field if a value is invalid, {@code eos_token_id}
     *     outside the vocabulary included
     */
    public ClipTextConfig {
        Objects.requireNonNull(tower, "tower");
        ConfigFieldException.requirePositive("vocab_size", vocabSize);
        ConfigFieldException.requirePositive("max_position_embeddings", maxPositionEmbeddings);
        // an id no input can hold would pool every text at position 0, whatever it says
        ConfigFieldException.requireTokenId("eos_token_id", eosTokenId, vocabSize);
    }

    /** Whether pooling takes the largest token id (legacy configs with eos_token_id 2). */
    public boolean poolsAtLargestId() {
        return eosTokenId == 2;
    }

    static ClipTextConfig read(ConfigJson json) {
        ClipTowerConfig tower = ClipTowerConfig.read(json, DEFAULTS);
        return json.build(() -> new ClipTextConfig(tower, json.optInt("vocab_size", 49408),
                json.optInt("max_position_embeddings", 77), json.optInt("eos_token_id", 49407)));
    }
}
