package ai.lorapro.models.clip;

import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

/**
 * The transformer sizes that CLIP's text and vision towers share: width, MLP width, depth, heads,
 * activation, layer-norm epsilon and attention dropout.
 *
 * @param hiddenSize {@code hidden_size}
 * @param intermediateSize {@code intermediate_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param hiddenAct {@code hidden_act} ({@code quick_gelu} for OpenAI's checkpoints, or {@code gelu})
 * @param layerNormEps {@code layer_norm_eps}
 * @param attentionDropout {@code attention_dropout}: dropout on the attention probabilities in
 *     training passes, as transformers' {@code CLIPAttention} (default 0)
 */
public record ClipTowerConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        Activation hiddenAct,
        float layerNormEps,
        float attentionDropout) {

    /**
     * Checks the sizes.
     *
     * @throws ConfigFieldException naming the field if a size is not positive, the width does not
     *     split into the heads, or the dropout is outside [0, 1)
     */
    public ClipTowerConfig {
        ConfigFieldException.requirePositive("hidden_size", hiddenSize);
        ConfigFieldException.requirePositive("intermediate_size", intermediateSize);
        ConfigFieldException.requireLayerCount("num_hidden_layers", numHiddenLayers);
        ConfigFieldException.requirePositive("num_attention_heads", numAttentionHeads);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new ConfigFieldException("hidden_size",
                    hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (hiddenAct == null) {
            throw new ConfigFieldException("hidden_act", "is required");
        }
        ConfigFieldException.requirePositive("layer_norm_eps", layerNormEps);
        ConfigFieldException.requireDropout("attention_dropout", attentionDropout);
    }

    /** The size of each attention head. */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * Reads the tower fields of a sub-config, with transformers' defaults for those absent.
     *
     * @param json the {@code text_config} or {@code vision_config} object
     * @param defaults the defaults of this tower in transformers
     */
    static ClipTowerConfig read(ConfigJson json, ClipTowerConfig defaults) {
        String act = json.optString("hidden_act", "quick_gelu");
        if (!"quick_gelu".equals(act) && !"gelu".equals(act)) {
            throw json.fail("hidden_act", "'" + act + "' is not supported (quick_gelu or gelu)");
        }
        return json.build(() -> new ClipTowerConfig(
                json.optInt("hidden_size", defaults.hiddenSize()),
                json.optInt("intermediate_size", defaults.intermediateSize()),
                json.optInt("num_hidden_layers", defaults.numHiddenLayers()),
                json.optInt("num_attention_heads", defaults.numAttentionHeads()),
                Activation.fromHfName(act, "hidden_act"),
                (float) json.optNumber("layer_norm_eps", defaults.layerNormEps()),
                (float) json.optNumber("attention_dropout", defaults.attentionDropout())));
    }
}
