package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/**
 * The causal language-modelling loss of Hugging Face's {@code ForCausalLMLoss}: position t
 * predicts label t+1, labels equal to {@link #IGNORE_INDEX} do not count, and the cross-entropy
 * (computed in float32) is averaged over the counted tokens.
 */
public final class CausalLmLoss {

    /** Labels with this value (padding, prompt tokens) are left out of the loss. */
    public static final long IGNORE_INDEX = CrossEntropy.IGNORE_INDEX;

    private CausalLmLoss() {}

    /**
     * The mean cross-entropy over counted tokens (NaN when none counts, as in PyTorch).
     *
     * @param logits [B, T, V]
     * @param labels [B, T] integer token ids or {@link #IGNORE_INDEX}, not yet shifted
     * @return a scalar float32 array
     */
    public static NDArray mean(NDArray logits, NDArray labels) {
        NDArray[] sumAndCount = sumAndCount(logits, labels);
        return sumAndCount[0].div(sumAndCount[1]);
    }

    /**
     * The summed cross-entropy and the number of counted tokens, for callers that normalise over
     * several micro-batches themselves (HF's {@code num_items_in_batch}).
     *
     * @return {sum (float32 scalar), count (float32 scalar)}
     */
    public static NDArray[] sumAndCount(NDArray logits, NDArray labels) {
        long length = logits.getShape().get(1);
        if (labels.getShape().dimension() != 2 || labels.getShape().get(1) != length) {
            throw new IllegalArgumentException(
                    "labels must be [batch, " + length + "], got " + labels.getShape());
        }
        NDArray predicting = logits.get(new NDIndex(":, :{}, :", length - 1));
        return CrossEntropy.sumAndCount(predicting, labels.get(new NDIndex(":, 1:")));
    }
}
