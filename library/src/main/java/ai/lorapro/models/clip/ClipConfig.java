package ai.lorapro.models.clip;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.ConfigFieldException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;

/**
 * The architecture of a CLIP model ({@code CLIPConfig}): the text and vision towers, the width of
 * the shared embedding space and the initial logit scale. Read one with {@link #fromJson(Path)}.
 *
 * @param text {@code text_config}, the text tower
 * @param vision {@code vision_config}, the vision tower
 * @param projectionDim {@code projection_dim}, the width of the shared image-text embedding space
 *     (default 512)
 * @param logitScaleInitValue {@code logit_scale_init_value}, the initial log of the logit
 *     temperature (default 2.6592 = ln 1/0.07)
 */
public record ClipConfig(ClipTextConfig text, ClipVisionConfig vision, int projectionDim, float logitScaleInitValue) {

    /**
     * Checks the values.
     *
     * @throws ConfigFieldException naming the field if a tower is missing or projection_dim is not
     *     positive
     */
    public ClipConfig {
        if (text == null) {
            throw new ConfigFieldException("text_config", "is required");
        }
        if (vision == null) {
            throw new ConfigFieldException("vision_config", "is required");
        }
        ConfigFieldException.requirePositive("projection_dim", projectionDim);
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "clip".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, the
     *     model type is not clip, a sub-config is missing, or a value is malformed or unsupported
     */
    public static ClipConfig fromJson(Path file) {
        return read(ConfigJson.read(file).requireModelType(ClipFamily.MODEL_TYPE));
    }

    /** The configuration {@code json} describes (its model_type is not checked here). */
    static ClipConfig read(ConfigJson json) {
        ClipTextConfig text = json.has("text_config") ? ClipTextConfig.read(json.object("text_config")) : null;
        ClipVisionConfig vision = json.has("vision_config") ? ClipVisionConfig.read(json.object("vision_config")) : null;
        return json.build(() -> new ClipConfig(text, vision, json.optInt("projection_dim", 512),
                (float) json.optNumber("logit_scale_init_value", 2.6592)));
    }
}
