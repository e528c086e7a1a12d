package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.nn.Scalars;

import java.util.function.Function;

/**
 * What the {@link TrainingEngine} needs to know about a model family: the model and how one
 * micro-batch turns into a summed loss. Causal LMs use {@link CausalLmTask}; an encoder-decoder or
 * contrastive model plugs in its own loss here and reuses the rest of the engine.
 */
public interface TrainTask {

    /** The throughput unit of text tasks: real (unpadded) tokens. */
    String TOKENS = "tok";
    /** The throughput unit of tasks whose examples are one image each. */
    String IMAGES = "img";

    /** The model whose parameters train (its HF-named tree names the checkpoints). */
    Block model();

    /**
     * Refuses what the model cannot take in {@code example} (a language model: an id or a label
     * outside its vocabulary, {@link Example#requireInVocabulary}). The engine calls it for every
     * training and evaluation example, and for its pad id as a one-token example, before the first
     * step, so that bad data is refused by example rather than by the step or the evaluation that
     * reaches it. By default nothing is refused.
     *
     * @throws ai.lorapro.InvalidInputException saying what is wrong (the engine names the example)
     */
    default void requireUsable(Example example) {}

    /**
     * The summed loss of one micro-batch and the number of items it was summed over, so that the
     * engine can normalise by the count of the whole optimizer step.
     *
     * @param store the parameter store
     * @param manager a manager on the model's device for this micro-batch alone (the engine closes it
     *     once the results are read); every array made belongs to it
     * @param batch the micro-batch
     * @param training whether this is a training pass (dropout on)
     * @return {sum, count}: float32 scalars
     */
    NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training);

    /**
     * The count {@link #lossSumAndCount} gives for {@code batch}, known before any pass: the engine
     * divides the step's summed loss by the total over its micro-batches. By default every
     * supervised label.
     */
    default long lossItemCount(Batch batch) {
        return batch.supervisedTokenCount();
    }

    /**
     * Runs the forward and backward passes of one training micro-batch: back-propagates its summed
     * loss times {@code factor} into the parameters' gradients and returns the summed loss. With
     * {@code recomputeLayers}, a task that has a {@link #layeredLoss} keeps only the hidden state
     * between layers and recomputes each layer when the backward pass reaches it ({@link
     * LayerRecompute}); otherwise the whole pass is recorded.
     *
     * @param store the parameter store
     * @param manager a manager on the model's device for this micro-batch alone, closed after its
     *     backward pass
     * @param batch the micro-batch
     * @param factor the loss scale divided by the step's item count
     * @param collector the step's gradient collector
     * @param recomputeLayers whether to recompute layers instead of keeping their activations
     * @return the summed loss, unscaled
     */
    default double backward(ParameterStore store, NDManager manager, Batch batch, double factor,
            GradientCollector collector, boolean recomputeLayers) {
        LayeredLoss layered = recomputeLayers ? layeredLoss(store, manager, batch) : null;
        if (layered != null) {
            return LayerRecompute.run(layered.pass(), layered.loss(), factor, collector);
        }
        NDArray[] parts = lossSumAndCount(store, manager, batch, true);
        collector.backward(Scalars.mul(parts[0], factor));
        return parts[0].getFloat();
    }

    /**
     * The training pass of one micro-batch split at layer boundaries, with the loss of its output,
     * for {@link #backward} to recompute layer by layer; null (the default) when the task's model
     * has no such split and the whole pass is recorded.
     *
     * @param store the parameter store
     * @param manager the micro-batch's manager (as for {@link #backward}); every array made belongs to it
     * @param batch the micro-batch
     * @return the split pass and its loss, or null
     */
    default LayeredLoss layeredLoss(ParameterStore store, NDManager manager, Batch batch) {
        return null;
    }

    /**
     * A micro-batch's pass split at layer boundaries and what turns its output into the loss.
     *
     * @param pass the pass
     * @param loss turns the pass's output into {summed loss, count}, as {@link #lossSumAndCount}
     */
    record LayeredLoss(LayeredPass pass, Function<NDArray, NDArray[]> loss) {}

    /** The PEFT task type written into adapter configs, e.g. {@code CAUSAL_LM}. */
    default String peftTaskType() {
        return "CAUSAL_LM";
    }

    /**
     * What the engine's throughput counts, as progress shows it ("{@value #TOKENS}/s"): the batches'
     * real tokens, {@link #TOKENS} by default; {@link #IMAGES} for a task whose examples are one image
     * each (their one token). The {@code tokens_per_s} of {@code metrics.jsonl} counts the same.
     */
    default String throughputUnit() {
        return TOKENS;
    }
}
