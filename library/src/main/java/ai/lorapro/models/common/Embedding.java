package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.FrozenCast;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.PassEntry;

import java.util.Map;

/**
 * A lookup table {@code weight} [num_embeddings, embedding_dim], like {@code nn.Embedding}. Frozen
 * by default; {@link #setTrainable(boolean)} lets it train.
 *
 * <p>A model with tied input and output embeddings uses {@link #project} as its output head,
 * logits = h W^T, instead of a separate {@code lm_head}.
 */
public final class Embedding extends HfBlock implements ShapedParameters, PassEntry {

    private final int numEmbeddings;
    private final int embeddingDim;
    private final Parameter weight;
    private final boolean tokenTable;
    private boolean widenFloat16;

    /** An embedding of {@code numEmbeddings} rows of size {@code embeddingDim}, of ids the model makes itself. */
    public Embedding(int numEmbeddings, int embeddingDim) {
        this(numEmbeddings, embeddingDim, false);
    }

    private Embedding(int numEmbeddings, int embeddingDim, boolean tokenTable) {
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.tokenTable = tokenTable;
        this.weight = parameter("weight", ShapedParameters.frozen("weight", Parameter.Type.WEIGHT));
    }

    /**
     * The token table of a vocabulary of {@code vocabSize}: the ids it is given come from a
     * tokenizer, and one without a row is refused naming it (positions and buckets, which the model
     * computes, are not checked: the check costs a reduction and a read back per pass).
     */
    public static Embedding tokens(int vocabSize, int embeddingDim) {
        return new Embedding(vocabSize, embeddingDim, true);
    }

    /** The number of rows (the vocabulary size for token embeddings). */
    public int getNumEmbeddings() {
        return numEmbeddings;
    }

    /** The size of each row. */
    public int getEmbeddingDim() {
        return embeddingDim;
    }

    /** The table [num_embeddings, embedding_dim]. */
    public Parameter getWeight() {
        return weight;
    }

    /**
     * Checks that the table is frozen, for a caller that reads it once outside the recorded graph.
     *
     * @param use what needs it frozen, for the message
     * @throws IllegalStateException if it trains
     */
    public void requireFrozen(String use) {
        if (weight.requiresGradient()) {
            throw new IllegalStateException(use + " needs a frozen embedding table (as under LoRA); this one trains");
        }
    }

    /** Lets the table train (full fine-tuning) or freezes it. */
    public void setTrainable(boolean trainable) {
        weight.freeze(!trainable);
    }

    /** {@inheritDoc} Here: float16 rows of a frozen table become float32. */
    @Override
    public void widenFloat16Output() {
        widenFloat16 = true;
    }

    /**
     * The rows of {@code ids} (any integer shape S): an array of shape S x embedding_dim, in the
     * table's type, or float32 for a float16 table once {@link #widenFloat16Output} was called (as
     * {@code LoraInjector} does).
     *
     * @throws IllegalStateException for a trainable float16 table to be widened (that would cut its
     *     gradient)
     */
    public NDArray embed(ParameterStore store, NDArray ids, boolean training) {
        if (tokenTable) {
            requireInTable(ids);
        }
        NDArray w = store.getValue(weight, ids.getDevice(), training);
        NDArray rows = ids.getNDArrayInternal().embedding(ids, w, SparseFormat.DENSE).singletonOrThrow();
        if (!widenFloat16 || rows.getDataType() != DataType.FLOAT16) {
            return rows;
        }
        if (w.hasGradient()) {
            throw new IllegalStateException("a trainable embedding table must be float32, not float16");
        }
        NDArray wide = rows.toType(DataType.FLOAT32, false);
        rows.close();
        return wide;
    }

    /** The tied output projection h W^T: [..., embedding_dim] to [..., num_embeddings]. */
    public NDArray project(ParameterStore store, NDArray hidden, boolean training) {
        NDArray w = store.getValue(weight, hidden.getDevice(), training);
        // a float16 table under float32 hidden states (adapted layers) is widened for the product
        return FrozenCast.apply(w, hidden.getDataType(), wide -> Linear.linear(hidden, wide).singletonOrThrow());
    }

    /**
     * Refuses an id without a row (PyTorch's own error, "index out of range in self", names
     * neither): a tokenizer that does not belong to the model, or data encoded with another one.
     */
    private void requireInTable(NDArray ids) {
        if (ids.size() == 0) {
            return;
        }
        try (NDArray max = ids.max();
                NDArray min = ids.min();
                NDArray high1 = max.reshape(1);
                NDArray low1 = min.reshape(1);
                NDArray both = high1.concat(low1);
                NDArray range = both.toType(DataType.INT64, false)) {
            long[] values = range.toLongArray(); // one read back
            long high = values[0];
            long low = values[1];
            if (low < 0 || high >= numEmbeddings) {
                throw new InvalidInputException("token id " + (low < 0 ? low : high) + " has no row in the embedding"
                        + " table of " + numEmbeddings + " rows (vocab_size): the token ids come from another"
                        + " tokenizer than the model's");
            }
        }
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(embed(store, inputs.singletonOrThrow(), training));
    }

    @Override
    public Map<String, Shape> parameterShapes() {
        return Map.of("weight", new Shape(numEmbeddings, embeddingDim));
    }
}
