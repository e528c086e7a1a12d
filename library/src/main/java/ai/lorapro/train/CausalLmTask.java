package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.CausalLmLoss;
import ai.lorapro.models.common.LayeredModel;
import ai.lorapro.models.common.LayeredPass;

import java.util.Objects;

/** The causal-LM task: next-token cross-entropy on the labelled positions of each example. */
public final class CausalLmTask implements TrainTask {

    private final CausalLanguageModel model;

    /**
     * @param model the language model
     */
    public CausalLmTask(CausalLanguageModel model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    @Override
    public Block model() {
        return model;
    }

    /** {@inheritDoc} Here: ids and labels in the model's vocabulary. */
    @Override
    public void requireUsable(Example example) {
        example.requireInVocabulary(model.vocabSize());
    }

    @Override
    public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
        NDList arrays = batch.toNDList(manager);
        NDArray logits = model.logits(store, arrays.get(0), arrays.get(1), null, null, training);
        return CausalLmLoss.sumAndCount(logits, arrays.get(2));
    }

    /** {@inheritDoc} The labels after each row's first: position 0 is predicted from nothing, never scored. */
    @Override
    public long lossItemCount(Batch batch) {
        return batch.supervisedTokenCount(1);
    }

    /** {@inheritDoc} A {@link LayeredModel} has one: its decoder layers. */
    @Override
    public LayeredLoss layeredLoss(ParameterStore store, NDManager manager, Batch batch) {
        if (!(model instanceof LayeredModel)) {
            return null;
        }
        NDList arrays = batch.toNDList(manager);
        LayeredPass pass = ((LayeredModel) model).layeredPass(store, arrays.get(0), arrays.get(1), true);
        return new LayeredLoss(pass, logits -> CausalLmLoss.sumAndCount(logits, arrays.get(2)));
    }
}
