package ai.lorapro.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import java.util.Set;

/**
 * Named tensors that can be loaded onto a device: one safetensors file, or a sharded Hugging Face
 * checkpoint seen as one.
 */
public interface TensorSource extends AutoCloseable {

    /** The names of all tensors. */
    Set<String> names();

    /** The header entry of a tensor; a {@link CheckpointFormatException} if it is absent. */
    TensorInfo info(String name);

    /**
     * Loads a tensor onto {@code manager}'s device; floating-point tensors become {@code
     * floatType} (BF16 is widened on the host because DJL cannot hold it).
     *
     * @param floatType FLOAT32 or FLOAT16 ({@link #requireFloatType})
     */
    NDArray load(NDManager manager, String name, DataType floatType);

    /**
     * Refuses a type that floating-point weights cannot be loaded as: only FLOAT32 and FLOAT16
     * are. BFLOAT16 would abort the JVM in DJL's PyTorch engine (a bf16 checkpoint is widened on
     * the host instead), and FLOAT64 would only pretend to a precision that the float32 path
     * loses.
     *
     * @return {@code floatType}
     * @throws IllegalArgumentException for any other type, naming it
     */
    static DataType requireFloatType(DataType floatType) {
        if (floatType != DataType.FLOAT32 && floatType != DataType.FLOAT16) {
            throw new IllegalArgumentException("weights load as FLOAT32 or FLOAT16, not " + floatType
                    + (floatType == DataType.BFLOAT16
                            ? " (DJL's PyTorch engine has no bfloat16: load a bf16 checkpoint as FLOAT16 or FLOAT32)"
                            : ""));
        }
        return floatType;
    }

    /** Whether a tensor of this name exists. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    void close();
}
