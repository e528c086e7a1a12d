package ai.lorapro.models.clip;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigJson;

import java.util.function.BiFunction;

/**
 * The transformer sizes that CLIP's text and vision towers share: width, MLP width, depth, heads,
 * activation and layer-norm epsilon.
 *
 * @param hiddenSize {@code hidden_size}
 * @param intermediateSize {@code intermediate_size}
 * @param numHiddenLayers {@code num_hidden_layers}
 * @param numAttentionHeads {@code num_attention_heads}
 * @param hiddenAct {@code hidden_act} ({@code quick_gelu} for OpenAI's checkpoints, or {@code gelu})
 * @param layerNormEps {@code layer_norm_eps}
 */
public record ClipTowerConfig(
        int hiddenSize,
        int intermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        Activation hiddenAct,
        float layerNormEps) {

    /**
     * Checks the sizes.
     *
     * @throws InvalidInputException naming the field if a size is not positive or the width does
     *     not split into the heads
     */
    public ClipTowerConfig {
        check(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, hiddenAct, layerNormEps,
                (field, message) -> new InvalidInputException("field '" + field + "' " + message));
    }

    private static void check(
            int hiddenSize,
            int intermediateSize,
            int numHiddenLayers,
            int numAttentionHeads,
            Activation hiddenAct,
            float layerNormEps,
            BiFunction<String, String, InvalidInputException> fail) {
        positive(hiddenSize, "hidden_size", fail);
        positive(intermediateSize, "intermediate_size", fail);
        positive(numHiddenLayers, "num_hidden_layers", fail);
        positive(numAttentionHeads, "num_attention_heads", fail);
        if (hiddenSize % numAttentionHeads != 0) {
            throw fail.apply("hidden_size", hiddenSize + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (hiddenAct == null) {
            throw fail.apply("hidden_act", "is required");
        }
        if (!(layerNormEps > 0)) {
            throw fail.apply("layer_norm_eps", "must be positive, got " + layerNormEps);
        }
    }

    private static void positive(int value, String field, BiFunction<String, String, InvalidInputException> fail) {
        if (value < 1) {
            throw fail.apply(field, "must be positive, got " + value);
        }
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
        Activation activation;
        if ("quick_gelu".equals(act) || "gelu".equals(act)) {
            activation = Activation.fromHfName(act, "hidden_act");
        } else {
            throw json.fail("hidden_act", "'" + act + "' is not supported (quick_gelu or gelu)");
        }
        int hidden = json.optInt("hidden_size", defaults.hiddenSize());
        int intermediate = json.optInt("intermediate_size", defaults.intermediateSize());
        int layers = json.optInt("num_hidden_layers", defaults.numHiddenLayers());
        int heads = json.optInt("num_attention_heads", defaults.numAttentionHeads());
        float eps = (float) json.optNumber("layer_norm_eps", defaults.layerNormEps());
        // validate first so that the error names the file and the sub-config field
        check(hidden, intermediate, layers, heads, activation, eps, json::fail);
        return new ClipTowerConfig(hidden, intermediate, layers, heads, activation, eps);
    }
}
