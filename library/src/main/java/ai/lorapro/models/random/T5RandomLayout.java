package ai.lorapro.models.random;

import ai.lorapro.data.ByteTokenizerJson;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.t5.T5Config;
import ai.lorapro.models.t5.T5ForConditionalGeneration;

import java.nio.file.Path;

/**
 * T5 as transformers initialises it ({@code T5PreTrainedModel._init_weights}, factor = {@code
 * initializer_factor}): layer norms factor; shared embedding and untied head N(0, factor^2); {@code
 * wi*} factor / sqrt(d_model), {@code wo} factor / sqrt(d_ff); {@code q} factor / sqrt(d_model *
 * d_kv), {@code k}, {@code v} and the relative attention bias factor / sqrt(d_model), {@code o}
 * factor / sqrt(heads * d_kv). The tokenizer has {@code <pad>} and {@code </s>} at the config's ids
 * (EOS after each sequence, as T5's tokenizer does; the decoder starts from {@code
 * decoder_start_token_id}, the pad id) and {@code <unk>} at 2 when free.
 */
final class T5RandomLayout {

    private T5RandomLayout() {}

    static RandomModelLayout of(Path configFile) {
        T5Config c = T5Config.fromJson(configFile);
        double factor = c.initializerFactor();
        double dModel = c.dModel();
        InitRule init = (name, shape) -> {
            if (name.endsWith("layer_norm.weight")) {
                return TensorInit.constant((float) factor);
            }
            if (name.equals("shared.weight") || name.equals("lm_head.weight")) {
                return TensorInit.normal(factor);
            }
            String leaf = name.substring(0, name.length() - ".weight".length());
            leaf = leaf.substring(leaf.lastIndexOf('.') + 1);
            switch (leaf) {
                case "wi":
                case "wi_0":
                case "wi_1":
                case "k":
                case "v":
                case "relative_attention_bias":
                    return TensorInit.normal(factor / Math.sqrt(dModel));
                case "wo":
                    return TensorInit.normal(factor / Math.sqrt(c.dFf()));
                case "q":
                    return TensorInit.normal(factor / Math.sqrt(dModel * c.dKv()));
                case "o":
                    return TensorInit.normal(factor / Math.sqrt((double) c.numHeads() * c.dKv()));
                default:
                    throw new IllegalStateException("no T5 initialisation for tensor '" + name + "'");
            }
        };
        ByteTokenizerJson tokenizer = ByteTokenizerJson.builder().optFillTo(c.vocabSize())
                .addSpecial("<pad>", c.padTokenId())
                .addSpecial("</s>", c.eosTokenId())
                .setTemplate(null, "</s>");
        if (!tokenizer.hasId(2)) {
            tokenizer.addSpecial("<unk>", 2);
        }
        return new RandomModelLayout(CheckpointLoader.expectedShapes(new T5ForConditionalGeneration(c)), init,
                tokenizer);
    }
}
