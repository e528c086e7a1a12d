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
     */
    NDArray load(NDManager manager, String name, DataType floatType);

    /** Whether a tensor of this name exists. */
    default boolean contains(String name) {
        return names().contains(name);
    }

    @Override
    void close();
}
