package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;

import java.util.List;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * One forward pass of a layered model, split at the boundaries between its repeated layers, so
 * that a trainer can keep only the hidden state at each boundary and recompute a layer's inside
 * (and the widened copies of its float16 weights) when the backward pass reaches it.
 *
 * <p>The pass is fixed to one input: {@link #input()} is the hidden state before layer 0, {@link
 * #layer} maps the state before layer {@code i} to the state after it, and {@link #head} maps the
 * state after the last layer to the model's output. Each call records the autograd graph of its own
 * piece only; calling {@link #layer} twice with the same input gives the same output.
 */
public interface LayeredPass {

    /** The hidden state entering layer 0 (needs no gradient: the embeddings are frozen or absent). */
    NDArray input();

    /** The number of layers. */
    int layerCount();

    /**
     * Runs layer {@code index}.
     *
     * @param index the layer, 0 to {@link #layerCount()} - 1
     * @param hidden the state entering it
     * @return the state leaving it
     */
    NDArray layer(int index, NDArray hidden);

    /** The model's output (e.g. logits) from the state after the last layer. */
    NDArray head(NDArray hidden);

    /**
     * The pass whose state enters {@code layers} at {@code input}, runs each through {@code layer}
     * and leaves through {@code head}.
     */
    static <L> LayeredPass of(NDArray input, List<L> layers, BiFunction<L, NDArray, NDArray> layer,
            UnaryOperator<NDArray> head) {
        return new LayeredPass() {
            @Override
            public NDArray input() {
                return input;
            }

            @Override
            public int layerCount() {
                return layers.size();
            }

            @Override
            public NDArray layer(int index, NDArray hidden) {
                return layer.apply(layers.get(index), hidden);
            }

            @Override
            public NDArray head(NDArray hidden) {
                return head.apply(hidden);
            }
        };
    }

    /**
     * The output of a pass that records no gradients, one layer at a time: each layer's
     * intermediate arrays (and the float32 copies of float16 weights) are freed as soon as its
     * output exists, so memory holds one layer's activations instead of the whole pass's, which DJL
     * would keep until the pass's manager closes.
     */
    default NDArray inferLayerByLayer() {
        NDArray hidden = input();
        for (int i = 0; i < layerCount(); i++) {
            try (NDScope scope = new NDScope()) {
                NDArray next = layer(i, hidden);
                NDScope.unregister(next);
                if (i > 0 && hidden != next) {
                    hidden.close();
                }
                hidden = next;
            }
        }
        return head(hidden);
    }
}
