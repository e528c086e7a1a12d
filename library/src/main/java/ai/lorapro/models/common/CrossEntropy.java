package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.Arrays;

/**
 * PyTorch's {@code cross_entropy(logits, labels, ignore_index=-100)} with mean reduction, for
 * labels already aligned with the logits (sequence-to-sequence decoders, classifiers); the
 * log-softmax is computed in float32.
 */
public final class CrossEntropy {

    /** Labels with this value do not count. */
    public static final long IGNORE_INDEX = -100;

    private CrossEntropy() {}

    /**
     * The mean cross-entropy over counted labels (NaN when none counts, as in PyTorch).
     *
     * @param logits [..., C]
     * @param labels [...] integer class ids or {@link #IGNORE_INDEX}, the logits' leading shape
     * @return a scalar float32 array
     */
    public static NDArray mean(NDArray logits, NDArray labels) {
        NDArray[] sumAndCount = sumAndCount(logits, labels);
        return sumAndCount[0].div(sumAndCount[1]);
    }

    /**
     * The summed cross-entropy and the number of counted labels.
     *
     * @return {sum (float32 scalar), count (float32 scalar)}
     */
    public static NDArray[] sumAndCount(NDArray logits, NDArray labels) {
        long[] leading = logits.getShape().slice(0, logits.getShape().dimension() - 1).getShape();
        if (!Arrays.equals(leading, labels.getShape().getShape())) {
            throw new IllegalArgumentException(
                    "labels have shape " + labels.getShape() + ", logits " + logits.getShape());
        }
        NDArray logProbs = logits.toType(DataType.FLOAT32, false).logSoftmax(-1);
        NDArray targets = labels.toType(DataType.INT64, false);
        NDArray counted = targets.neq(IGNORE_INDEX);
        // ignored positions gather class 0 and are then multiplied by 0
        NDArray safeTargets = targets.mul(counted.toType(DataType.INT64, false));
        NDArray picked = logProbs.gather(safeTargets.expandDims(-1), -1).squeeze(-1);
        NDArray weights = counted.toType(DataType.FLOAT32, false);
        return new NDArray[] {picked.mul(weights).sum().neg(), weights.sum()};
    }
}
