package ai.lorapro.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import ai.djl.util.RandomUtils;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.nn.Scalars;

import java.util.function.Function;

/**
 * Forward and backward passes of one micro-batch that keep only the hidden state between layers
 * (activation checkpointing at layer granularity). What a layer's backward pass needs -- its
 * activations and the float32 copies of its float16 weights -- is recomputed when the backward pass
 * reaches that layer and freed before the next, so the widened weights of one layer are alive at a
 * time instead of the whole model's.
 *
 * <p>The passes, with h_i the state entering layer i and L the loss times the scale factor:
 *
 * <ol>
 *   <li>forward: h_{i+1} = layer_i(h_i) for every layer, each layer's graph freed at once;
 *   <li>head: L = loss(head(h_n)) back-propagated from a leaf copy of h_n, giving g_n = dL/dh_n;
 *   <li>layers in reverse, down to the lowest one that trains ({@link
 *       LayeredPass#firstTrainableLayer()}; nothing below it needs a gradient): layer_i(h_i) is
 *       recomputed from a leaf copy of h_i and sum(layer_i(h_i) * g_{i+1}) back-propagated; its
 *       gradient is exactly g_{i+1} at the layer's output, so the parameters receive dL/dtheta and
 *       the leaf receives g_i.
 * </ol>
 *
 * <p>The gradients equal those of one recorded pass up to the order of floating-point sums. Each
 * layer's random draws (dropout) are reseeded identically in both of its forward runs, from one
 * seed drawn from DJL's generator per micro-batch, so runs stay reproducible.
 */
final class LayerRecompute {

    private LayerRecompute() {}

    /**
     * Runs both passes of a micro-batch.
     *
     * @param pass the micro-batch's pass, split at layer boundaries
     * @param loss turns the head's output into {summed loss, count}
     * @param factor what the summed loss is multiplied by before back-propagation
     * @param collector the step's gradient collector
     * @return the summed loss, unscaled
     */
    static double run(LayeredPass pass, Function<NDArray, NDArray[]> loss, double factor,
            GradientCollector collector) {
        int layers = pass.layerCount();
        int seed = RandomUtils.nextInt();
        NDArray[] boundaries = new NDArray[layers + 1];
        boundaries[0] = pass.input();
        NDArray upstream = null;
        try {
            for (int i = 0; i < layers; i++) {
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    reseed(seed, i);
                    boundaries[i + 1] = keep(pass.layer(i, boundaries[i].stopGradient()).stopGradient());
                }
            }
            double sum;
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDArray last = leaf(boundaries[layers]);
                NDArray[] parts = loss.apply(pass.head(last));
                collector.backward(Scalars.mul(parts[0], factor));
                sum = parts[0].getFloat();
                upstream = keep(last.getGradient().duplicate());
            }
            // nothing below the lowest layer that trains needs a gradient (the input is frozen)
            int first = pass.firstTrainableLayer();
            for (int i = layers - 1; i >= first; i--) {
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    reseed(seed, i);
                    // the lowest layer's input gradient is not needed; its leaf only guarantees the
                    // surrogate has a graph whatever the layer holds
                    NDArray in = leaf(boundaries[i]);
                    collector.backward(pass.layer(i, in).mul(upstream).sum());
                    upstream.close();
                    upstream = i == first ? null : keep(in.getGradient().duplicate());
                    boundaries[i + 1].close();
                    boundaries[i + 1] = null;
                }
            }
            return sum;
        } finally {
            if (upstream != null) {
                upstream.close();
            }
            for (int i = 1; i < boundaries.length; i++) {
                if (boundaries[i] != null) {
                    boundaries[i].close();
                }
            }
        }
    }

    /** A leaf sharing {@code state}'s values that collects the gradient reaching it. */
    private static NDArray leaf(NDArray state) {
        NDArray leaf = state.stopGradient();
        leaf.setRequiresGradient(true);
        return leaf;
    }

    /** Keeps {@code array} beyond the enclosing scope; the caller closes it. */
    private static NDArray keep(NDArray array) {
        NDScope.unregister(array);
        return array;
    }

    private static void reseed(int seed, int layer) {
        Engine.getInstance().setRandomSeed(seed + layer);
    }
}
