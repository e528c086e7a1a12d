package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;

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

    /** The PEFT task type written into adapter configs, e.g. {@code CAUSAL_LM}. */
    default String peftTaskType() {
        return "CAUSAL_LM";
    }
}
