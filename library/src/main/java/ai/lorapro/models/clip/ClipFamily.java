package ai.lorapro.models.clip;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamily;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.ConfigJson;

import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * The CLIP family ({@code model_type: clip}): contrastive image and text towers, fine-tuned as an
 * image classifier ({@link ClipImageClassifier}); it does not generate text.
 */
public final class ClipFamily implements ModelFamily {

    /** The {@code model_type} of CLIP's config.json. */
    public static final String MODEL_TYPE = "clip";

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public ModelArchitecture read(ConfigJson json) {
        return new Architecture(ClipConfig.read(json));
    }

    /**
     * A CLIP configuration as seen by the commands.
     *
     * @param config the parsed config
     */
    public record Architecture(ClipConfig config) implements ModelArchitecture {

        @Override
        public String modelType() {
            return MODEL_TYPE;
        }

        @Override
        public ModelKind kind() {
            return ModelKind.IMAGE_TEXT;
        }

        @Override
        public String summary() {
            ClipVisionConfig v = config.vision();
            return String.format(Locale.ROOT, "text %d layers + vision %d layers (%dx%d px, patch %d), projection %d,"
                    + " vocab %d", config.text().tower().numHiddenLayers(), v.tower().numHiddenLayers(),
                    v.imageSize(), v.imageSize(), v.patchSize(), config.projectionDim(), vocabSize());
        }

        @Override
        public int vocabSize() {
            return config.text().vocabSize();
        }

        /** The text tower's EOS, which ends every prompt the tokenizer encodes. */
        @Override
        public SpecialTokens specialTokens() {
            return new SpecialTokens(SpecialTokens.NONE, List.of((long) config.text().eosTokenId()),
                    SpecialTokens.NONE);
        }

        /** The vision tower's layers that image classification adapts. */
        @Override
        public List<String> defaultLoraTargets() {
            return ClipImageClassifier.LORA_TARGETS;
        }

        /** What image classification adapts: the classifier on the vision tower, by its module paths. */
        @Override
        public Block adaptedModel() {
            return ClipImageClassifier.shapesOnly(new ClipModel(config));
        }

        @Override
        public Block newModel() {
            return new ClipModel(config);
        }

        /** {@inheritDoc} Counted for image classification, as {@link ClipActivations} says. */
        @Override
        public long activationBytes(int microBatch, int sequenceLength, DataType frozenType) {
            return ClipActivations.bytes(config, microBatch, frozenType);
        }

        @Override
        public Predicate<String> ignorableTensors() {
            return ClipModel::ignorable;
        }

        /** Refused: CLIP embeds images and text but has no decoder. */
        @Override
        public List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
                Decoding decoding) {
            throw new InvalidInputException("clip models do not generate text: they embed images and text;"
                    + " classify images with the image-folder task (lorapro eval --task image-folder, zero-shot or"
                    + " with --adapter; ImageClassification.evaluate in Java)");
        }
    }
}
