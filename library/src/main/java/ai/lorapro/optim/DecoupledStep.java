package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

/**
 * The parameter update every optimizer here ends with, whatever produced the update direction
 * (Adam's moments, LoRA-Pro's adjusted gradients or plain SGD): decoupled weight decay then the
 * step, w ← w - lr (u + wd w) with w taken before the step.
 */
final class DecoupledStep {

    private DecoupledStep() {}

    /**
     * Applies w ← (1 - lr wd) w - lr u in place. {@code update} is scaled in place, so the caller
     * must own it.
     */
    static void apply(NDArray weight, NDArray update, double learningRate, double weightDecay) {
        if (weightDecay != 0) {
            weight.muli(1 - learningRate * weightDecay);
        }
        weight.subi(update.muli(learningRate));
    }
}
