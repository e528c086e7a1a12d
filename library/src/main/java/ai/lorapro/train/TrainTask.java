package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.nn.Scalars;

/**
 * What the {@link TrainingEngine} needs to know about a model family: the model and how one
 * micro-batch turns into a summed loss. Causal LMs use {@link CausalLmTask}; an encoder-decoder or
 * contrastive model plugs in its own loss here and reuses the rest of the engine.
 */
public interface TrainTask {

    /** The model whose parameters train (its HF-named tree names the checkpoints). */
    Block model();

    /**
     * The summed loss of one micro-batch and the number of items it was summed over, so that the
     * engine can normalise by the count of the whole optimizer step.
     *
     * @param store the parameter store
     * @param manager a per-step manager on the model's device; every array made belongs to it
     * @param batch the micro-batch
     * @param training whether this is a training pass (dropout on)
     * @return {sum, count}: float32 scalars
     */
    NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training);

    /**
     * Runs the forward and backward passes of one training micro-batch: back-propagates its summed
     * loss times {@code factor} into the parameters' gradients and returns the summed loss. With
     * {@code recomputeLayers} a task may keep only the hidden state between layers and recompute
     * each layer when the backward pass reaches it (as {@link CausalLmTask} does for layered
     * models); by default the whole pass is recorded.
     *
     * @param store the parameter store
     * @param manager a per-step manager on the model's device
     * @param batch the micro-batch
     * @param factor the loss scale divided by the step's item count
     * @param collector the step's gradient collector
     * @param recomputeLayers whether to recompute layers instead of keeping their activations
     * @return the summed loss, unscaled
     */
    default double backward(ParameterStore store, NDManager manager, Batch batch, double factor,
            GradientCollector collector, boolean recomputeLayers) {
        NDArray[] parts = lossSumAndCount(store, manager, batch, true);
        collector.backward(Scalars.mul(parts[0], factor));
        return parts[0].getFloat();
    }

    /** The PEFT task type written into adapter configs, e.g. {@code CAUSAL_LM}. */
    default String peftTaskType() {
        return "CAUSAL_LM";
    }
}
