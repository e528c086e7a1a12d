package ai.lorapro.models.clip;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigJson;

import java.util.function.BiFunction;

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
    static final ClipTowerConfig DEFAULTS = new ClipTowerConfig(768, 3072, 12, 12, Activation.QUICK_GELU, 1e-5f);

    /**
     * Checks the sizes.
     *
     * @throws InvalidInputException naming the field if a value is invalid
     */
    public ClipVisionConfig {
        if (tower == null) {
            throw new InvalidInputException("vision_config is required");
        }
        check(imageSize, patchSize, numChannels,
                (field, message) -> new InvalidInputException("field 'vision_config." + field + "' " + message));
    }

    private static void check(
            int imageSize, int patchSize, int numChannels, BiFunction<String, String, InvalidInputException> fail) {
        if (imageSize < 1) {
            throw fail.apply("image_size", "must be positive, got " + imageSize);
        }
        if (patchSize < 1 || imageSize % patchSize != 0) {
            throw fail.apply("patch_size", patchSize + " must be positive and divide image_size " + imageSize);
        }
        if (numChannels < 1) {
            throw fail.apply("num_channels", "must be positive, got " + numChannels);
        }
    }

    /** The number of patches per image, (image_size / patch_size)^2. */
    public int numPatches() {
        int side = imageSize / patchSize;
        return side * side;
    }

    static ClipVisionConfig read(ConfigJson json) {
        ClipTowerConfig tower = ClipTowerConfig.read(json, DEFAULTS);
        int image = json.optInt("image_size", 224);
        int patch = json.optInt("patch_size", 32);
        int channels = json.optInt("num_channels", 3);
        check(image, patch, channels, json::fail);
        return new ClipVisionConfig(tower, image, patch, channels);
    }
}
