package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/**
 * Additive attention masks: 0 where a query may attend to a key, the most negative finite value
 * of the score type where it may not (as Hugging Face's {@code masking_utils} builds them), so
 * that a fully masked row gives a uniform softmax instead of NaN.
 */
public final class AttentionMasks {

    private AttentionMasks() {}

    /**
     * A causal mask, combined with padding when {@code attentionMask} is given: query i (at
     * absolute position pastLength + i) sees key j iff j &lt;= pastLength + i and key j is not
     * padding.
     *
     * @param manager where to create the mask (the manager of the activations)
     * @param attentionMask [B, pastLength + queryLength], 1 for tokens and 0 for padding, or null
     * @param queryLength T, the number of new positions
     * @param pastLength the number of cached positions before them
     * @param type the score type (FLOAT32 or FLOAT16)
     * @return [B or 1, 1, T, pastLength + T]
     */
    public static NDArray causal(
            NDManager manager, NDArray attentionMask, int queryLength, int pastLength, DataType type) {
        int keyLength = pastLength + queryLength;
        NDArray keyPos = manager.arange(0, keyLength, 1, DataType.INT64).reshape(1, 1, 1, keyLength);
        NDArray queryPos =
                manager.arange(pastLength, keyLength, 1, DataType.INT64).reshape(1, 1, queryLength, 1);
        NDArray allowed = keyPos.lte(queryPos);
        if (attentionMask != null) {
            allowed = allowed.logicalAnd(keyIsToken(attentionMask, keyLength));
        }
        return additive(allowed, type);
    }

    /**
     * A padding-only mask for bidirectional attention (encoders): every query sees every key that
     * is not padding.
     *
     * @param attentionMask [B, S], 1 for tokens and 0 for padding
     * @param type the score type
     * @return [B, 1, 1, S]
     */
    public static NDArray padding(NDArray attentionMask, DataType type) {
        long keyLength = attentionMask.getShape().get(1);
        return additive(keyIsToken(attentionMask, keyLength), type);
    }

    private static NDArray keyIsToken(NDArray attentionMask, long keyLength) {
        if (attentionMask.getShape().dimension() != 2 || attentionMask.getShape().get(1) != keyLength) {
            throw new IllegalArgumentException(
                    "attention_mask must be [batch, " + keyLength + "], got " + attentionMask.getShape());
        }
        long batch = attentionMask.getShape().get(0);
        return attentionMask.neq(0).reshape(batch, 1, 1, keyLength);
    }

    /** A boolean "may attend" array turned into 0 / most-negative additive scores. */
    public static NDArray additive(NDArray allowed, DataType type) {
        float lowest = type == DataType.FLOAT16 ? -65504f : -Float.MAX_VALUE;
        // allowed - 1 is 0 where allowed and -1 where not
        NDArray mask = allowed.toType(DataType.FLOAT32, false).sub(1f).mul(-lowest);
        return type == DataType.FLOAT32 ? mask : mask.toType(type, false);
    }
}
