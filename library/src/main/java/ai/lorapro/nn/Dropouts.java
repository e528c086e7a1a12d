package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.norm.Dropout;

/**
 * Dropout as PyTorch's {@code nn.Dropout} applies it: in training passes only, zeroing each element
 * with probability {@code rate} and scaling the rest by 1 / (1 - rate); the identity otherwise. Its
 * draws come from the engine's generator, which {@code LayerRecompute} reseeds so that a recomputed
 * layer draws the same mask.
 */
public final class Dropouts {

    private Dropouts() {}

    /** {@code x} with dropout at {@code rate} in a training pass, else {@code x} itself. */
    public static NDArray apply(NDArray x, float rate, boolean training) {
        return training && rate > 0 ? Dropout.dropout(x, rate, true).singletonOrThrow() : x;
    }
}
