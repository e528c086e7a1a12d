package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.nn.HfBlock;

import java.util.Map;

/**
 * Root-mean-square norm without centring or bias: x / sqrt(mean(x^2) + eps) * weight, with the
 * statistics computed in float32 and the result cast back before the scale, exactly as {@code
 * LlamaRMSNorm} and T5's {@code T5LayerNorm} do.
 */
public final class RmsNorm extends HfBlock implements ShapedParameters {

    private final int hiddenSize;
    private final float eps;
    private final Parameter weight;

    /** A norm over the last dimension of size {@code hiddenSize}. */
    public RmsNorm(int hiddenSize, float eps) {
        this.hiddenSize = hiddenSize;
        this.eps = eps;
        this.weight = parameter("weight", ShapedParameters.frozen("weight", Parameter.Type.GAMMA));
    }

    /** The scale [hidden]. */
    public Parameter getWeight() {
        return weight;
    }

    /** Normalises the last dimension of {@code x}. */
    public NDArray forward(ParameterStore store, NDArray x, boolean training) {
        DataType inputType = x.getDataType();
        NDArray x32 = inputType == DataType.FLOAT32 ? x : x.toType(DataType.FLOAT32, false);
        // x * x, not pow(2): a number operand is freed before the backward pass reads it
        NDArray variance = x32.mul(x32).mean(new int[] {-1}, true);
        NDArray normed = x32.div(variance.add(eps).sqrt());
        NDArray back = inputType == DataType.FLOAT32 ? normed : normed.toType(inputType, false);
        return back.mul(store.getValue(weight, x.getDevice(), training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("weight", new Shape(hiddenSize));
    }
}
