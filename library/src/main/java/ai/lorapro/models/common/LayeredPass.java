package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

import ai.lorapro.nn.ModuleTree;

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
     * The lowest layer with a trainable parameter, or {@link #layerCount()} when none has one: a
     * backward pass need not go below it, since the layers there have nothing to train and the
     * input needs no gradient (adapters on the decoder of T5 only, or on the top layers only).
     */
    default int firstTrainableLayer() {
        return 0;
    }

    /**
     * The pass whose state enters {@code layers} at {@code input}, runs each through {@code layer}
     * and leaves through {@code head}; the first layer whose block holds a trainable parameter is
     * its {@link #firstTrainableLayer()}.
     */
    static <L extends Block> LayeredPass of(NDArray input, List<L> layers, BiFunction<L, NDArray, NDArray> layer,
            UnaryOperator<NDArray> head) {
        return of(input, layers, layer, head, firstTraining(layers));
    }

    /**
     * The index of the first of {@code blocks} that holds a parameter requiring a gradient, or
     * {@code blocks.size()} when none does.
     */
    static int firstTraining(List<? extends Block> blocks) {
        for (int i = 0; i < blocks.size(); i++) {
            if (ModuleTree.namedParameters(blocks.get(i)).values().stream().anyMatch(Parameter::requiresGradient)) {
                return i;
            }
        }
        return blocks.size();
    }

    /**
     * The pass whose state enters {@code layers} at {@code input}, runs each through {@code layer}
     * and leaves through {@code head}, with {@code firstTrainable} as its {@link
     * #firstTrainableLayer()}.
     */
    static <L> LayeredPass of(NDArray input, List<L> layers, BiFunction<L, NDArray, NDArray> layer,
            UnaryOperator<NDArray> head, int firstTrainable) {
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

            @Override
            public int firstTrainableLayer() {
                return firstTrainable;
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
