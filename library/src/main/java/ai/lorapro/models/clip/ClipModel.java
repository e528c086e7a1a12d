package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.Linears;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.common.ShapedParameters;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.PassArrays;
import ai.lorapro.nn.Weights;

import java.nio.file.Path;
import java.util.Map;

/**
 * CLIP as Hugging Face's {@code CLIPModel}: {@code text_model}, {@code vision_model}, the
 * bias-free {@code visual_projection} and {@code text_projection} into the shared space, and the
 * learned {@code logit_scale}. logits_per_text = exp(logit_scale) * t̂ · îᵀ for L2-normalised text
 * and image embeddings; logits_per_image is its transpose. Parameters are named exactly like the
 * checkpoint's tensors.
 */
public final class ClipModel extends HfBlock implements ShapedParameters {

    private final ClipConfig config;
    private final ClipTextTransformer textModel;
    private final ClipVisionTransformer visionModel;
    private final LoraLinear visualProjection;
    private final LoraLinear textProjection;
    private final Parameter logitScale;

    /** An empty model (no weights yet); fill it with {@link #fromPretrained} or {@link #random}. */
    public ClipModel(ClipConfig config) {
        this.config = config;
        this.textModel = module("text_model", new ClipTextTransformer(config.text()));
        this.visionModel = module("vision_model", new ClipVisionTransformer(config.vision()));
        this.visualProjection =
                module("visual_projection", projection(config.vision().tower().hiddenSize(), config.projectionDim()));
        this.textProjection =
                module("text_projection", projection(config.text().tower().hiddenSize(), config.projectionDim()));
        this.logitScale = parameter("logit_scale", ShapedParameters.frozen("logit_scale", Parameter.Type.OTHER));
    }

    private static LoraLinear projection(int in, int out) {
        return Linears.create(in, out, false);
    }

    /**
     * Loads a Hugging Face checkpoint directory holding {@code config.json} and {@code
     * model.safetensors} (or shards with {@code model.safetensors.index.json}), as float32 weights.
     *
     * @throws ai.lorapro.InvalidInputException for a bad config; its subclass {@link
     *     ai.lorapro.io.CheckpointFormatException} for a missing, unexpected or misshapen tensor
     */
    public static ClipModel fromPretrained(Path dir, NDManager manager) {
        return fromPretrained(dir, manager, DataType.FLOAT32);
    }

    /**
     * Loads a Hugging Face checkpoint directory.
     *
     * @param frozenType the type of the (frozen) base weights, FLOAT32 or FLOAT16
     */
    public static ClipModel fromPretrained(Path dir, NDManager manager, DataType frozenType) {
        return (ClipModel) new ClipFamily().readConfig(dir.resolve(ModelFamilies.CONFIG_FILE))
                .load(dir, manager, frozenType);
    }

    /**
     * Builds a model of {@code config} with its weights from {@code source}; every parameter must
     * be found and every tensor used, except the {@code position_ids} buffers that older exports
     * store.
     *
     * @param sourceName how to name the checkpoint in error messages
     */
    public static ClipModel fromPretrained(
            ClipConfig config, TensorSource source, String sourceName, NDManager manager, DataType frozenType) {
        return (ClipModel) new ClipFamily.Architecture(config).load(source, sourceName, manager, frozenType);
    }

    /** The {@code position_ids} buffers that older exports store. */
    static boolean ignorable(String tensor) {
        return tensor.endsWith("embeddings.position_ids");
    }

    /**
     * A model of {@code config} with reproducible random float32 weights (matrices ~ N(0, 0.02^2),
     * unit norms, logit_scale = logit_scale_init_value), for tests and demos.
     */
    public static ClipModel random(ClipConfig config, NDManager manager, long seed) {
        ClipModel m = new ClipModel(config);
        RandomWeights.initialize(m, manager, DataType.FLOAT32, seed, 0.02f);
        Weights.assign(m.logitScale, manager.create(config.logitScaleInitValue()));
        return m;
    }

    /** The projected, unnormalised image features [B, projection_dim] ({@code get_image_features}). */
    public NDArray imageFeatures(ParameterStore store, NDArray pixelValues, boolean training) {
        return project(visualProjection, store, visionModel.forward(store, pixelValues, training).pooledOutput(), training);
    }

    /** The projected, unnormalised text features [B, projection_dim] ({@code get_text_features}). */
    public NDArray textFeatures(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training) {
        ClipTowerOutput text = textModel.forward(store, inputIds, attentionMask, training);
        return project(textProjection, store, text.pooledOutput(), training);
    }

    /**
     * The full contrastive pass.
     *
     * @param pixelValues [B_img, C, H, W] normalised pixels
     * @param inputIds [B_txt, T] token ids (INT64)
     * @param attentionMask [B_txt, T] padding mask, or null
     */
    public Output forward(
            ParameterStore store, NDArray pixelValues, NDArray inputIds, NDArray attentionMask, boolean training) {
        ClipTowerOutput vision = visionModel.forward(store, pixelValues, training);
        ClipTowerOutput text = textModel.forward(store, inputIds, attentionMask, training);
        NDArray imageFeatures = project(visualProjection, store, vision.pooledOutput(), training);
        NDArray textFeatures = project(textProjection, store, text.pooledOutput(), training);
        NDArray imageEmbeds = normalize(imageFeatures);
        NDArray textEmbeds = normalize(textFeatures);
        NDArray scale = PassArrays.own(store.getValue(logitScale, pixelValues.getDevice(), training).exp(),
                pixelValues.getManager());
        NDArray logitsPerText = textEmbeds.matMul(imageEmbeds.transpose()).mul(scale);
        return new Output(logitsPerText.transpose(), logitsPerText, textEmbeds, imageEmbeds, imageFeatures, vision, text);
    }

    /** x / ||x||_2 over the last dimension, as {@code x / x.norm(p=2, dim=-1, keepdim=True)}. */
    public static NDArray normalize(NDArray x) {
        // x * x rather than x.pow(2): DJL frees pow's scalar before the backward pass (see Scalars)
        return x.div(x.mul(x).sum(new int[] {-1}, true).sqrt());
    }

    private static NDArray project(LoraLinear layer, ParameterStore store, NDArray x, boolean training) {
        return layer.forward(store, new NDList(x), training).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 2 ? inputs.get(2) : null;
        Output out = forward(store, inputs.get(0), inputs.get(1), mask, training);
        return new NDList(out.logitsPerImage(), out.logitsPerText());
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("logit_scale", new Shape());
    }

    /** The configuration. */
    public ClipConfig getConfig() {
        return config;
    }

    /** The text tower. */
    public ClipTextTransformer getTextModel() {
        return textModel;
    }

    /** The vision tower. */
    public ClipVisionTransformer getVisionModel() {
        return visionModel;
    }

    /** The image projection. */
    public LoraLinear getVisualProjection() {
        return visualProjection;
    }

    /** The text projection. */
    public LoraLinear getTextProjection() {
        return textProjection;
    }

    /** The log of the logit temperature (a scalar). */
    public Parameter getLogitScale() {
        return logitScale;
    }

    /**
     * The result of {@link #forward}.
     *
     * @param logitsPerImage [B_img, B_txt]
     * @param logitsPerText [B_txt, B_img]
     * @param textEmbeds normalised text embeddings [B_txt, projection_dim]
     * @param imageEmbeds normalised image embeddings [B_img, projection_dim]
     * @param imageFeatures unnormalised projected image features [B_img, projection_dim] (what
     *     transformers 5 reports as the vision pooler output of {@code get_image_features})
     * @param vision the vision tower's output
     * @param text the text tower's output
     */
    public record Output(
            NDArray logitsPerImage,
            NDArray logitsPerText,
            NDArray textEmbeds,
            NDArray imageEmbeds,
            NDArray imageFeatures,
            ClipTowerOutput vision,
            ClipTowerOutput text) {}
}
