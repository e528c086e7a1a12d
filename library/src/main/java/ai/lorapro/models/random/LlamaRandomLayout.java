package ai.lorapro.models.random;

import ai.lorapro.data.ByteTokenizerJson;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;

import java.nio.file.Path;

/**
 * Llama as transformers initialises it ({@code LlamaPreTrainedModel._init_weights}): linear layers and
 * embeddings N(0, initializer_range^2), biases 0, RMSNorm scales 1. The tokenizer has Llama's
 * {@code <s>} and {@code </s>} at the config's ids (BOS before each sequence), {@code <pad>} at
 * {@code pad_token_id} when set, and {@code <unk>} at 0 when 0 is free, as in Llama's own tokenizer.
 */
final class LlamaRandomLayout {

    private LlamaRandomLayout() {}

    static RandomModelLayout of(Path configFile) {
        LlamaConfig config = LlamaConfig.fromJson(configFile);
        float std = config.initializerRange();
        InitRule init = (name, shape) -> {
            if (name.endsWith(".bias")) {
                return TensorInit.constant(0f);
            }
            return shape.dimension() == 1 ? TensorInit.constant(1f) : TensorInit.normal(std);
        };
        ByteTokenizerJson tokenizer = ByteTokenizerJson.builder().optFillTo(config.vocabSize());
        if (config.bosTokenId() != null) {
            tokenizer.addSpecial("<s>", config.bosTokenId()).setTemplate("<s>", null);
        }
        if (!config.eosTokenIds().isEmpty() && !tokenizer.hasId(config.eosTokenIds().get(0))) {
            tokenizer.addSpecial("</s>", config.eosTokenIds().get(0));
        }
        if (config.padTokenId() != null && !tokenizer.hasId(config.padTokenId())) {
            tokenizer.addSpecial("<pad>", config.padTokenId());
        }
        if (!tokenizer.hasId(0)) {
            tokenizer.addSpecial("<unk>", 0);
        }
        return new RandomModelLayout(CheckpointLoader.expectedShapes(new LlamaForCausalLM(config)), init, tokenizer);
    }
}
