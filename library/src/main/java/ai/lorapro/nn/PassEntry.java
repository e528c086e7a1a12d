package ai.lorapro.nn;

import ai.djl.nn.Block;

/**
 * A block whose output enters a model's pass, such as an embedding table (token, position or
 * position-bias rows), so that its output type is the pass's. A model with float16 base weights
 * computes in float16 until LoRA adapters join it; their float32 factors need float32 activations,
 * and PyTorch refuses products that mix the two types, so {@code LoraInjector} asks every such
 * block of the model to widen its float16 output. Each frozen weight is then widened for its
 * product ({@link FrozenCast}).
 */
public interface PassEntry {

    /** From now on, gives float32 where it gave float16. */
    void widenFloat16Output();

    /**
     * Asks every {@link PassEntry} under {@code root} to widen its float16 output, so that the pass
     * runs in float32 from its first activations whatever type the base weights are held in.
     */
    static void widenAll(Block root) {
        ModuleTree.forEachModule(root, (path, block) -> {
            if (block instanceof PassEntry) {
                ((PassEntry) block).widenFloat16Output();
            }
        });
    }
}
