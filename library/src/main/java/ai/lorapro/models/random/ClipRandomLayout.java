package ai.lorapro.models.random;

import ai.lorapro.data.ByteTokenizerJson;
import ai.lorapro.models.clip.ClipConfig;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.clip.ClipTextConfig;
import ai.lorapro.models.clip.ClipTowerConfig;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;

/**
 * CLIP as transformers initialises it ({@code CLIPPreTrainedModel._init_weights}, factor = {@code
 * initializer_factor}, h = the tower's hidden size, L its layers): text token and position
 * embeddings N(0, (0.02 factor)^2); the vision class embedding factor / sqrt(h), its patch and
 * position embeddings initializer_range * factor; q, k, v factor / sqrt(h) / sqrt(2L), out factor /
 * sqrt(h); fc1 factor / sqrt(2h), fc2 factor / sqrt(h) / sqrt(2L); each projection factor /
 * sqrt(its input size); layer norms 1, biases 0, {@code logit_scale} = {@code
 * logit_scale_init_value}. The tokenizer has {@code <|startoftext|>} and {@code <|endoftext|>}
 * around each sequence: at the top two ids of the vocabulary when the text tower pools at the
 * largest id (legacy configs with eos_token_id 2, such as OpenAI's), else at the config's ids.
 */
final class ClipRandomLayout {

    private ClipRandomLayout() {}

    static RandomModelLayout of(Path configFile) {
        ClipConfig c = ClipConfig.fromJson(configFile);
        ConfigJson json = ConfigJson.read(configFile);
        double factor = ConfigFieldException.requirePositive("initializer_factor", json.optNumber("initializer_factor", 1.0));
        ClipTowerConfig text = c.text().tower();
        ClipTowerConfig vision = c.vision().tower();
        double visionRange = json.object("vision_config").optNumber("initializer_range", 0.02);
        InitRule init = (name, shape) -> {
            if (name.equals("logit_scale")) {
                return TensorInit.constant(c.logitScaleInitValue());
            }
            if (name.endsWith(".bias") || name.endsWith("norm.weight") || name.endsWith("norm1.weight")
                    || name.endsWith("norm2.weight")) {
                return TensorInit.constant(name.endsWith(".bias") ? 0f : 1f);
            }
            if (name.equals("text_projection.weight")) {
                return TensorInit.normal(factor / Math.sqrt(text.hiddenSize()));
            }
            if (name.equals("visual_projection.weight")) {
                return TensorInit.normal(factor / Math.sqrt(vision.hiddenSize()));
            }
            boolean isText = name.startsWith("text_model.");
            ClipTowerConfig tower = isText ? text : vision;
            double h = tower.hiddenSize();
            double depth = Math.sqrt(2.0 * tower.numHiddenLayers());
            if (name.endsWith("token_embedding.weight") || (isText && name.endsWith("position_embedding.weight"))) {
                return TensorInit.normal(0.02 * factor);
            }
            if (name.endsWith("class_embedding")) {
                return TensorInit.normal(factor / Math.sqrt(h));
            }
            if (name.endsWith("patch_embedding.weight") || name.endsWith("position_embedding.weight")) {
                return TensorInit.normal(visionRange * factor);
            }
            if (name.endsWith("q_proj.weight") || name.endsWith("k_proj.weight") || name.endsWith("v_proj.weight")
                    || name.endsWith("fc2.weight")) {
                return TensorInit.normal(factor / Math.sqrt(h) / depth);
            }
            if (name.endsWith("out_proj.weight")) {
                return TensorInit.normal(factor / Math.sqrt(h));
            }
            if (name.endsWith("fc1.weight")) {
                return TensorInit.normal(factor / Math.sqrt(2 * h));
            }
            throw new IllegalStateException("no CLIP initialisation for tensor '" + name + "'");
        };
        return new RandomModelLayout(CheckpointLoader.expectedShapes(new ClipModel(c)), init,
                tokenizer(c.text(), json.object("text_config")));
    }

    private static ByteTokenizerJson tokenizer(ClipTextConfig text, ConfigJson json) {
        int bos;
        int eos;
        if (text.poolsAtLargestId()) {
            bos = text.vocabSize() - 2;
            eos = text.vocabSize() - 1;
        } else {
            eos = text.eosTokenId();
            bos = json.optInt("bos_token_id", eos - 1);
        }
        return ByteTokenizerJson.builder().optFillTo(text.vocabSize())
                .addSpecial("<|startoftext|>", bos)
                .addSpecial("<|endoftext|>", eos)
                .setTemplate("<|startoftext|>", "<|endoftext|>");
    }
}
