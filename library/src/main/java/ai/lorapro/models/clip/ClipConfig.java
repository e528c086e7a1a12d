package ai.lorapro.models.clip;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.common.ConfigJson;

import java.nio.file.Path;

/**
 * The architecture of a CLIP model ({@code CLIPConfig}): the text and vision towers, the width of
 * the shared embedding space and the initial logit scale. Immutable; read one with {@link
 * #fromJson(Path)} or build one with {@link #builder()}.
 */
public final class ClipConfig {

    private final ClipTextConfig text;
    private final ClipVisionConfig vision;
    private final int projectionDim;
    private final float logitScaleInitValue;

    private ClipConfig(Builder b) {
        if (b.text == null) {
            throw new InvalidInputException("ClipConfig: field 'text_config' is required");
        }
        if (b.vision == null) {
            throw new InvalidInputException("ClipConfig: field 'vision_config' is required");
        }
        if (b.projectionDim < 1) {
            throw new InvalidInputException("ClipConfig: field 'projection_dim' must be positive, got " + b.projectionDim);
        }
        this.text = b.text;
        this.vision = b.vision;
        this.projectionDim = b.projectionDim;
        this.logitScaleInitValue = b.logitScaleInitValue;
    }

    /** A builder; projection_dim 512 and logit_scale_init_value 2.6592 (ln 1/0.07) by default. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Reads a Hugging Face {@code config.json} of model_type "clip".
     *
     * @throws InvalidInputException naming the file and field if the file is unreadable, the
     *     model type is not clip, a sub-config is missing, or a value is malformed or unsupported
     */
    public static ClipConfig fromJson(Path file) {
        ConfigJson json = ConfigJson.read(file);
        json.requireModelType("clip");
        for (String sub : new String[] {"text_config", "vision_config"}) {
            if (!json.has(sub)) {
                throw json.fail(sub, "is required");
            }
        }
        int projection = json.optInt("projection_dim", 512);
        if (projection < 1) {
            throw json.fail("projection_dim", "must be positive, got " + projection);
        }
        return builder()
                .setText(ClipTextConfig.read(json.object("text_config")))
                .setVision(ClipVisionConfig.read(json.object("vision_config")))
                .optProjectionDim(projection)
                .optLogitScaleInitValue((float) json.optNumber("logit_scale_init_value", 2.6592))
                .build();
    }

    /** The text tower. */
    public ClipTextConfig getText() {
        return text;
    }

    /** The vision tower. */
    public ClipVisionConfig getVision() {
        return vision;
    }

    /** {@code projection_dim}, the width of the shared image-text embedding space. */
    public int getProjectionDim() {
        return projectionDim;
    }

    /** {@code logit_scale_init_value}, the initial log of the logit temperature. */
    public float getLogitScaleInitValue() {
        return logitScaleInitValue;
    }

    /** Builds a {@link ClipConfig}. */
    public static final class Builder {
        private ClipTextConfig text;
        private ClipVisionConfig vision;
        private int projectionDim = 512;
        private float logitScaleInitValue = 2.6592f;

        private Builder() {}

        /** The text tower. */
        public Builder setText(ClipTextConfig text) {
            this.text = text;
            return this;
        }

        /** The vision tower. */
        public Builder setVision(ClipVisionConfig vision) {
            this.vision = vision;
            return this;
        }

        /** {@code projection_dim}. */
        public Builder optProjectionDim(int projectionDim) {
            this.projectionDim = projectionDim;
            return this;
        }

        /** {@code logit_scale_init_value}. */
        public Builder optLogitScaleInitValue(float value) {
            this.logitScaleInitValue = value;
            return this;
        }

        /**
         * Builds the configuration.
         *
         * @throws InvalidInputException naming the field if a value is missing or invalid
         */
        public ClipConfig build() {
            return new ClipConfig(this);
        }
    }
}
