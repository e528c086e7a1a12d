package ai.lorapro.tasks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.train.TrainTask;

import java.util.Objects;

/**
 * The encoder-decoder task of the training engine: batches of (source, target) pairs packed by
 * {@link Seq2SeqExamples} are split, the encoder reads the source, the decoder is teacher-forced
 * with the target shifted right, and the loss is the cross-entropy summed over target tokens.
 */
public final class Seq2SeqLmTask implements TrainTask {

    private final T5ForConditionalGeneration model;

    /**
     * @param model the encoder-decoder model
     */
    public Seq2SeqLmTask(T5ForConditionalGeneration model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    @Override
    public Block model() {
        return model;
    }

    /** {@inheritDoc} Here: source, target and labels in the model's vocabulary. */
    @Override
    public void requireUsable(Example example) {
        example.requireInVocabulary(model.getConfig().vocabSize());
    }

    @Override
    public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
        NDList arrays = arrays(batch, manager);
        NDArray mask = arrays.get(1);
        NDArray encoderHidden = model.encode(store, arrays.get(0), mask, training);
        NDArray logits = model.decode(store, model.shiftRight(arrays.get(2)), encoderHidden, mask, null, training);
        return CrossEntropy.sumAndCount(logits, arrays.get(2));
    }

    /** {@inheritDoc} Here: the encoder's blocks, then the decoder's. */
    @Override
    public LayeredLoss layeredLoss(ParameterStore store, NDManager manager, Batch batch) {
        NDList arrays = arrays(batch, manager);
        NDArray labels = arrays.get(2);
        LayeredPass pass = model.layeredPass(store, arrays.get(0), arrays.get(1), model.shiftRight(labels), true);
        return new LayeredLoss(pass, logits -> CrossEntropy.sumAndCount(logits, labels));
    }

    /** The batch split into [source ids, source mask, labels]. */
    private NDList arrays(Batch batch, NDManager manager) {
        Seq2SeqExamples.Split split = Seq2SeqExamples.split(batch, model.getConfig().padTokenId());
        return new NDList(create(manager, split.sourceIds()), create(manager, split.sourceMask()),
                create(manager, split.labels()));
    }

    @Override
    public String peftTaskType() {
        return "SEQ_2_SEQ_LM";
    }

    private static NDArray create(NDManager manager, long[][] rows) {
        int width = rows[0].length;
        long[] flat = new long[rows.length * width];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], 0, flat, b * width, width);
        }
        return manager.create(flat, new Shape(rows.length, width));
    }
}
