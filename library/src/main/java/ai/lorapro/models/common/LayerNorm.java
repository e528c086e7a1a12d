package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.nn.FrozenCast;
import ai.lorapro.nn.HfBlock;

import java.util.Map;

/**
 * {@code nn.LayerNorm} over the last dimension with a scale {@code weight} and a shift {@code
 * bias} (CLIP), through PyTorch's own {@code layer_norm} kernel.
 */
public final class LayerNorm extends HfBlock implements ShapedParameters {

    private final int hiddenSize;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    /** A norm over the last dimension of size {@code hiddenSize}. */
    public LayerNorm(int hiddenSize, float eps) {
        this.hiddenSize = hiddenSize;
        this.eps = eps;
        this.weight = parameter("weight", ShapedParameters.frozen("weight", Parameter.Type.GAMMA));
        this.bias = parameter("bias", ShapedParameters.frozen("bias", Parameter.Type.BETA));
    }

    /** Normalises the last dimension of {@code x}. */
    public NDArray forward(ParameterStore store, NDArray x, boolean training) {
        NDArray w = store.getValue(weight, x.getDevice(), training);
        NDArray b = store.getValue(bias, x.getDevice(), training);
        // float16 parameters under float32 activations (adapted layers) are widened, as LoraLinear does
        DataType type = FrozenCast.wider(x.getDataType(), w.getDataType());
        NDArray wideW = FrozenCast.to(w, type);
        NDArray wideB = FrozenCast.to(b, type);
        NDArray y = ai.djl.nn.norm.LayerNorm.layerNorm(x, new Shape(hiddenSize), wideW, wideB, eps)
                .singletonOrThrow();
        FrozenCast.release(wideW, w);
        FrozenCast.release(wideB, b);
        return y;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("weight", new Shape(hiddenSize), "bias", new Shape(hiddenSize));
    }
}
