package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.nn.FrozenCast;
import ai.lorapro.nn.HfBlock;

import java.util.Map;

/**
 * A lookup table {@code weight} [num_embeddings, embedding_dim], like {@code nn.Embedding}. Frozen
 * by default; {@link #setTrainable(boolean)} lets it train.
 *
 * <p>A model with tied input and output embeddings uses {@link #project} as its output head,
 * logits = h W^T, instead of a separate {@code lm_head}.
 */
public final class Embedding extends HfBlock implements ShapedParameters {

    private final int numEmbeddings;
    private final int embeddingDim;
    private final Parameter weight;

    /** An embedding of {@code numEmbeddings} rows of size {@code embeddingDim}. */
    public Embedding(int numEmbeddings, int embeddingDim) {
        this.numEmbeddings = numEmbeddings;
        this.embeddingDim = embeddingDim;
        this.weight = parameter("weight", ShapedParameters.frozen("weight", Parameter.Type.WEIGHT));
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

    /** Lets the table train (full fine-tuning) or freezes it. */
    public void setTrainable(boolean trainable) {
        weight.freeze(!trainable);
    }

    /** The rows of {@code ids} (any integer shape S): an array of shape S x embedding_dim. */
    public NDArray embed(ParameterStore store, NDArray ids, boolean training) {
        NDArray w = store.getValue(weight, ids.getDevice(), training);
        return ids.getNDArrayInternal().embedding(ids, w, SparseFormat.DENSE).singletonOrThrow();
    }

    /** The tied output projection h W^T: [..., embedding_dim] to [..., num_embeddings]. */
    public NDArray project(ParameterStore store, NDArray hidden, boolean training) {
        NDArray w = store.getValue(weight, hidden.getDevice(), training);
        // a float16 table under float32 hidden states (adapted layers) is widened for the product
        return FrozenCast.apply(w, hidden.getDataType(), wide -> Linear.linear(hidden, wide).singletonOrThrow());
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
