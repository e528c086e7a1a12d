package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;

/** A decoder-only language model that {@link Generator} can run incrementally. */
public interface CausalLanguageModel extends Block {

    /**
     * The next-token logits [B, T, vocab] of {@code inputIds} [B, T].
     *
     * @param store the parameter store
     * @param inputIds [B, T] token ids (INT64)
     * @param attentionMask [B, past + T], 1 for tokens and 0 for padding, or null
     * @param positionIds [B or 1, T] positions, or null for past .. past + T - 1
     * @param cache the keys and values of the past positions, extended in place; or null
     * @param training whether this is a training pass
     */
    NDArray logits(
            ParameterStore store,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training);

    /** The number of attention layers a {@link KvCache} needs slots for. */
    int numCacheLayers();

    /** The number of token ids the model takes and predicts ({@code vocab_size}). */
    int vocabSize();
}
