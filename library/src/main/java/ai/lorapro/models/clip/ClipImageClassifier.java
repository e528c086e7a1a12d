package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.nn.HasClassNames;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.Weights;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * An image classifier on CLIP's vision tower: logits = head(normalize(visual_projection(pooled
 * class token))), where {@code head} is a linear layer [classes, projection_dim] with bias.
 *
 * <p>Zero-shot initialisation: row c of the head is exp(logit_scale) times the normalised text
 * embedding of "a photo of a {class c}." and the bias is 0, so before training the logits are
 * exactly CLIP's zero-shot {@code logits_per_image} (and a softmax over them CLIP's zero-shot
 * probabilities). For fine-tuning, the head is a trainable non-LoRA parameter and LoRA goes to the
 * vision tower's {@code q_proj, k_proj, v_proj, out_proj, fc1, fc2} ({@link #LORA_TARGETS});
 * "all-linear" selects the same layers, since {@code head} and {@code visual_projection} are
 * declared output heads.
 */
public final class ClipImageClassifier extends HfBlock implements HasOutputHead, HasClassNames {

    /** The prompt template of CLIP's zero-shot ImageNet evaluation. */
    public static final String PROMPT_TEMPLATE = "a photo of a %s.";

    /** The vision tower's linear layers that LoRA adapts. */
    public static final List<String> LORA_TARGETS = List.of("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2");

    private final ClipVisionTransformer visionModel;
    private final LoraLinear visualProjection;
    private final LoraLinear head;
    /** The class of each head row, when known (a zero-shot head's prompts' names). */
    private List<String> classNames = List.of();

    private ClipImageClassifier(ClipModel clip, int numClasses) {
        this.visionModel = module("vision_model", clip.getVisionModel());
        this.visualProjection = module("visual_projection", clip.getVisualProjection());
        this.head =
                module(
                        "head",
                        LoraLinear.builder()
                                .setInFeatures(clip.getConfig().projectionDim())
                                .setOutFeatures(numClasses)
                                .optBias(true)
                                .build());
    }

    /**
     * A classifier whose parameters hold no values (shapes only): the module paths that training
     * adapts, for counting adapters before any data is read ({@link ClipFamily}). The class count is
     * the data's; the head is made as wide as its input (projection_dim), so that an explicit {@code
     * head} target is counted at an upper bound for up to that many classes, and accepts any r its
     * input allows.
     */
    static ClipImageClassifier shapesOnly(ClipModel clip) {
        return new ClipImageClassifier(clip, clip.getConfig().projectionDim());
    }

    /** "a photo of a {name}." for each class name. */
    public static List<String> prompts(List<String> classNames) {
        List<String> out = new ArrayList<>();
        for (String name : classNames) {
            out.add(String.format(PROMPT_TEMPLATE, name));
        }
        return out;
    }

    /**
     * A classifier whose head is initialised from the prompts of {@code classNames}.
     *
     * @param clip a loaded CLIP model; its vision tower and visual projection are shared, not
     *     copied
     * @param tokenizer turns a prompt into CLIP token ids (start token, ..., end-of-text token)
     * @param classNames the class names, in label order
     * @param manager where the head lives (the model's weights' manager)
     */
    public static ClipImageClassifier zeroShot(
            ClipModel clip, Function<String, long[]> tokenizer, List<String> classNames, NDManager manager) {
        List<long[]> ids = new ArrayList<>();
        List<String> prompts = prompts(classNames);
        int max = clip.getConfig().text().maxPositionEmbeddings();
        for (int c = 0; c < prompts.size(); c++) {
            long[] promptIds = tokenizer.apply(prompts.get(c));
            if (promptIds.length > max) {
                throw new InvalidInputException("class '" + classNames.get(c) + "': its zero-shot prompt \""
                        + prompts.get(c) + "\" is " + promptIds.length + " tokens, more than the text tower's"
                        + " max_position_embeddings " + max + " (shorten the class folder's name, or check that"
                        + " the tokenizer belongs to the model)");
            }
            ids.add(promptIds);
        }
        ClipImageClassifier classifier = zeroShotFromTokenIds(clip, ids, manager);
        classifier.classNames = List.copyOf(classNames);
        return classifier;
    }

    /**
     * A classifier whose head row c is exp(logit_scale) * normalize(text_features(prompt c)).
     *
     * @param promptIds the token ids of each class prompt (each encoded alone, so no padding)
     */
    public static ClipImageClassifier zeroShotFromTokenIds(ClipModel clip, List<long[]> promptIds, NDManager manager) {
        if (promptIds.isEmpty()) {
            throw new IllegalArgumentException("a classifier needs at least one class");
        }
        ClipImageClassifier classifier = new ClipImageClassifier(clip, promptIds.size());
        ParameterStore store = new ParameterStore(manager, false);
        try (NDManager scratch = manager.newSubManager()) {
            NDList rows = new NDList();
            for (long[] ids : promptIds) {
                NDArray input = scratch.create(ids, new Shape(1, ids.length));
                rows.add(ClipModel.normalize(clip.textFeatures(store, input, null, false)));
            }
            float scale = (float) Math.exp(clip.getLogitScale().getArray().getFloat());
            // the head trains, so it is float32 even when the towers hold float16 weights
            NDArray weight = NDArrays.concat(rows, 0).toType(DataType.FLOAT32, false).mul(scale);
            NDArray bias = weight.getManager().zeros(new Shape(promptIds.size()), weight.getDataType());
            // the head owns these two arrays; they must outlive the scratch manager
            weight.attach(manager);
            bias.attach(manager);
            Weights.assign(classifier.head.getWeight(), weight);
            Weights.assign(classifier.head.getBias(), bias);
        }
        classifier.head.setBaseTrainable(true);
        return classifier;
    }

    /** The tensor that marks a checkpoint of this classifier rather than of a CLIP model. */
    public static final String HEAD_WEIGHT = "head.weight";

    /**
     * Whether {@code source} holds a classifier, as {@code train --method full --task image-folder}
     * checkpoints it (the vision tower, {@code visual_projection} and {@code head}, under this
     * class's parameter paths), rather than a whole CLIP model.
     */
    public static boolean isClassifierCheckpoint(TensorSource source) {
        return source.contains(HEAD_WEIGHT);
    }

    /**
     * The classifier of a full fine-tuning checkpoint ({@link #isClassifierCheckpoint}): as many
     * classes as its head has rows, every parameter from {@code source}, strictly as {@link
     * CheckpointLoader} loads a model. It needs no text tower: the head is trained, not made from
     * prompts.
     *
     * @param config the CLIP configuration the classifier was trained from
     * @param sourceName how to name the checkpoint in error messages
     * @param frozenType FLOAT32 or FLOAT16
     * @throws ai.lorapro.io.CheckpointFormatException for a missing, unexpected or misshapen tensor
     */
    public static ClipImageClassifier fromCheckpoint(ClipConfig config, TensorSource source, String sourceName,
            NDManager manager, DataType frozenType) {
        Shape head = source.info(HEAD_WEIGHT).shape();
        if (head.dimension() != 2 || head.get(0) < 1 || head.get(0) > Integer.MAX_VALUE) {
            throw new CheckpointFormatException(sourceName + ": tensor '" + HEAD_WEIGHT + "' has shape " + head
                    + ", expected [classes, " + config.projectionDim() + "]");
        }
        ClipImageClassifier classifier = new ClipImageClassifier(new ClipModel(config), (int) head.get(0));
        CheckpointLoader.load(classifier, source, sourceName, manager, frozenType, ClipModel::ignorable);
        return classifier;
    }

    /** The class names the head was made for ({@link #zeroShot}), in row order; empty when not known. */
    @Override
    public List<String> classNames() {
        return classNames;
    }

    /** A LoRA configuration of rank {@code r} and scale {@code alpha} on {@link #LORA_TARGETS}. */
    public static LoraConfig loraConfig(int r, float alpha) {
        return LoraConfig.builder().setR(r).setAlpha(alpha).optTargetModules(LORA_TARGETS).build();
    }

    /** The class logits [B, classes] of normalised pixels [B, C, H, W]. */
    public NDArray forward(ParameterStore store, NDArray pixelValues, boolean training) {
        return classify(store, visionModel.forward(store, pixelValues, training).pooledOutput(), training);
    }

    /**
     * The pass over {@code pixelValues} split at the vision encoder's layer boundaries: the input is
     * the embedded, pre-normalised patches (their parameters must be frozen for a training pass),
     * each layer an encoder layer, and the head the pooling, the visual projection and the
     * classification head; it gives the logits {@link #forward} does.
     */
    public LayeredPass layeredPass(ParameterStore store, NDArray pixelValues, boolean training) {
        if (training) {
            // read once, outside the recomputed layers: a trainable embedding's gradient would be lost
            visionModel.requireFrozenEmbedding("a layered training pass");
        }
        return LayeredPass.of(visionModel.embed(store, pixelValues, training),
                visionModel.getEncoder().getLayers().layers(),
                (layer, hidden) -> layer.forward(store, hidden, null, training),
                hidden -> classify(store, visionModel.pool(store, hidden, training), training));
    }

    /** The logits of pooled vision features: head(normalize(visual_projection(pooled))). */
    private NDArray classify(ParameterStore store, NDArray pooled, boolean training) {
        NDArray features = visualProjection.forward(store, new NDList(pooled), training).singletonOrThrow();
        return head.forward(store, new NDList(ClipModel.normalize(features)), training).singletonOrThrow();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Set<String> outputHeadPaths() {
        return Set.of("head", "visual_projection");
    }

    /** The classification head (trainable). */
    public LoraLinear getHead() {
        return head;
    }

    /** The number of classes. */
    public int numClasses() {
        return head.getOutFeatures();
    }
}
