package ai.lorapro.models;

import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;

/**
 * Which families can hold their frozen base weights in float16. Only Llama's blocks widen every
 * float16 weight they use (its linear layers, embedding and norms); T5's and CLIP's embeddings,
 * relative attention bias, patch convolution and tied head would meet float32 activations with a
 * float16 weight and fail deep inside PyTorch, so they are refused before anything is loaded.
 */
public final class Float16Weights {

    private Float16Weights() {}

    /**
     * Refuses float16 base weights for a family that cannot compute with them.
     *
     * @param modelType the family's {@code model_type}
     * @param frozenType the requested type of the base weights
     * @throws InvalidInputException for FLOAT16
     */
    public static void requireSupported(String modelType, DataType frozenType) {
        if (frozenType == DataType.FLOAT16) {
            throw new InvalidInputException("float16 base weights (--fp16-frozen) are supported for llama models"
                    + " only, not yet for model_type " + modelType + "; train it with float32 base weights");
        }
    }
}
