package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.ShapedParameters;
import ai.lorapro.nn.FrozenCast;
import ai.lorapro.nn.HfBlock;

import java.util.Map;

/**
 * The patch embedding of CLIP's ViT ({@code patch_embedding}): a bias-free convolution whose
 * kernel and stride are the patch size, so each patch is projected to one hidden vector; {@code
 * weight} [hidden, channels, patch, patch] as in {@code nn.Conv2d}.
 */
public final class ClipPatchEmbedding extends HfBlock implements ShapedParameters {

    private final int hiddenSize;
    private final int numChannels;
    private final int patchSize;
    private final Parameter weight;

    /** A patch embedding of this vision tower. */
    public ClipPatchEmbedding(ClipVisionConfig config) {
        this.hiddenSize = config.tower().hiddenSize();
        this.numChannels = config.numChannels();
        this.patchSize = config.patchSize();
        this.weight = parameter("weight", ShapedParameters.frozen("weight", Parameter.Type.WEIGHT));
    }

    /** The kernel. */
    public Parameter getWeight() {
        return weight;
    }

    /** {@code pixels} [B, C, H, W] to patch vectors [B, (H/p)(W/p), hidden], row-major patches. */
    public NDArray forward(ParameterStore store, NDArray pixels, boolean training) {
        NDArray w = store.getValue(weight, pixels.getDevice(), training);
        // a float16 kernel is widened to the float32 pixels for the convolution
        NDArray maps = FrozenCast.apply(w, pixels.getDataType(),
                wide -> Conv2d.conv2d(pixels, wide, null, new Shape(patchSize, patchSize)).singletonOrThrow());
        long batch = maps.getShape().get(0);
        // [B, hidden, h, w] -> [B, h*w, hidden] (flatten(2).transpose(1, 2))
        return maps.reshape(batch, hiddenSize, -1).transpose(0, 2, 1);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("weight", new Shape(hiddenSize, numChannels, patchSize, patchSize));
    }
}
