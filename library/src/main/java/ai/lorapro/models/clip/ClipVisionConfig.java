package ai.lorapro.models.clip;

import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.util.Objects;

/**
 * The vision tower of CLIP ({@code CLIPVisionConfig}): a ViT over square images cut into square
 * patches.
 *
 * @param tower the transformer sizes
 * @param imageSize {@code image_size}, the side of the input in pixels
 * @param patchSize {@code patch_size}, the side of each patch
 * @param numChannels {@code num_channels}
 */
public record ClipVisionConfig(ClipTowerConfig tower, int imageSize, int patchSize, int numChannels) {

    /** transformers' defaults (openai/clip-vit-base-patch32). */
    static final ClipTowerConfig DEFAULTS = new ClipTowerConfig(768, 3072, 12, 12, Activation.QUICK_GELU, 1e-5f, 0f);

    /**
     * Checks the sizes.
     *
     * @throws ConfigFieldException naming the field if a value is invalid
     */
    public ClipVisionConfig {
        Objects.requireNonNull(tower, "tower");
        ConfigFieldException.requirePositive("image_size", imageSize);
        if (patchSize < 1 || imageSize % patchSize != 0) {
            throw new ConfigFieldException("patch_size", patchSize + " must be positive and divide image_size " + imageSize);
        }
        ConfigFieldException.requirePositive("num_channels", numChannels);
    }

    /** The number of patches per image, (image_size / patch_size)^2. */
    public int numPatches() {
        int side = imageSize / patchSize;
        return side * side;
    }

    static ClipVisionConfig read(ConfigJson json) {
        ClipTowerConfig tower = ClipTowerConfig.read(json, DEFAULTS);
        return json.build(() -> new ClipVisionConfig(tower, json.optInt("image_size", 224),
                json.optInt("patch_size", 32), json.optInt("num_channels", 3)));
    }
}
