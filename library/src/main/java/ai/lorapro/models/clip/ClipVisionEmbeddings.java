package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.ShapedParameters;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.PassArrays;

import java.util.Map;

/**
 * The input of CLIP's ViT ({@code CLIPVisionEmbeddings}): the learned {@code class_embedding}
 * followed by the patch vectors, plus a learned {@code position_embedding} per position.
 */
public final class ClipVisionEmbeddings extends HfBlock implements ShapedParameters {

    private final int hiddenSize;
    private final int numPositions;
    private final Parameter classEmbedding;
    private final ClipPatchEmbedding patchEmbedding;
    private final Embedding positionEmbedding;

    /** The embeddings of this vision tower. */
    public ClipVisionEmbeddings(ClipVisionConfig config) {
        this.hiddenSize = config.tower().hiddenSize();
        this.numPositions = config.numPatches() + 1;
        this.classEmbedding =
                parameter("class_embedding", ShapedParameters.frozen("class_embedding", Parameter.Type.WEIGHT));
        this.patchEmbedding = module("patch_embedding", new ClipPatchEmbedding(config));
        this.positionEmbedding = module("position_embedding", new Embedding(numPositions, hiddenSize));
    }

    /** {@code pixels} [B, C, H, W] to [B, 1 + patches, hidden]. */
    public NDArray forward(ParameterStore store, NDArray pixels, boolean training) {
        NDArray patches = patchEmbedding.forward(store, pixels, training);
        long batch = patches.getShape().get(0);
        if (patches.getShape().get(1) + 1 != numPositions) {
            throw new IllegalArgumentException(
                    "pixel_values " + pixels.getShape() + " give " + patches.getShape().get(1)
                            + " patches, the model has positions for " + (numPositions - 1));
        }
        // derived from a parameter: on the pass's manager, it and the concatenation it heads are freed with the pass
        NDArray cls = PassArrays.own(store.getValue(classEmbedding, pixels.getDevice(), training)
                .reshape(1, 1, hiddenSize), pixels.getManager());
        NDArray tokens = NDArrays.concat(new NDList(cls.broadcast(new Shape(batch, 1, hiddenSize)), patches), 1);
        NDArray positions = pixels.getManager().arange(0, numPositions, 1, DataType.INT64);
        return tokens.add(positionEmbedding.embed(store, positions, training).expandDims(0));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("class_embedding", new Shape(hiddenSize));
    }
}
