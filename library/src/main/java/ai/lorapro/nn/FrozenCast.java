package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.function.UnaryOperator;

/**
 * Frozen float16 weights used in a float32 computation. PyTorch's matmul, convolution and layer
 * norm refuse to mix float16 and float32 operands, and DJL's {@code toType} is not differentiable,
 * so each product runs in the wider of its operands' types: a frozen weight (which needs no
 * gradient) is widened with {@code toType}, and the copy is closed right after its product.
 * Autograd keeps its own reference for the backward pass; {@code toType} attaches the copy to the
 * weight's long-lived manager, which would otherwise keep one copy per pass for the life of the
 * model.
 */
public final class FrozenCast {

    private FrozenCast() {}

    /** The wider of two floating-point types. */
    public static DataType wider(DataType first, DataType second) {
        return second.getNumOfBytes() > first.getNumOfBytes() ? second : first;
    }

    /**
     * {@code weight} in {@code type}: itself when it already has it, else a copy that the caller
     * gives to {@link #release} after use.
     *
     * @throws IllegalStateException for a trainable weight of another type (it must already have
     *     the computation's type, since the copy would carry no gradient)
     */
    public static NDArray to(NDArray weight, DataType type) {
        if (weight.getDataType() == type) {
            return weight;
        }
        if (weight.hasGradient()) {
            throw new IllegalStateException("a trainable base weight must be " + type + ", not " + weight.getDataType());
        }
        return weight.toType(type, false);
    }

    /** Closes {@code copy} unless it is {@code original} itself (or absent). */
    public static void release(NDArray copy, NDArray original) {
        if (copy != null && copy != original) {
            copy.close();
        }
    }

    /**
     * {@code op} applied to {@code weight} widened to the wider of its type and {@code activationType};
     * the widened copy is released afterwards.
     */
    public static NDArray apply(NDArray weight, DataType activationType, UnaryOperator<NDArray> op) {
        NDArray wide = to(weight, wider(activationType, weight.getDataType()));
        try {
            return op.apply(wide);
        } finally {
            release(wide, weight);
        }
    }
}
