package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;

import java.util.ArrayList;
import java.util.List;

/**
 * The m x n part of a full-mode LoRA-Pro AdamW step, done in blocks of rows: for each block, g~ is
 * formed from its low-rank factors, both moments are updated in place, Adam's direction u is formed
 * and projected onto the factors (B^T u summed over blocks, u A^T stacked), after which the block's
 * temporaries are gone.
 *
 * <p>Why blocks: every tensor operation is one pass over its operands, and a full step needs about
 * ten of them. Over whole m x n arrays each pass goes to main memory, and each new m x n array costs
 * fresh pages from the operating system. With blocks of a few hundred kilobytes the passes after the
 * first touch of a block hit the cache, the temporaries are small enough for the allocator to
 * recycle, and what reaches main memory is close to the unavoidable: reading and writing each
 * moment once. On a GPU a block per launch would only add launches, so the caller passes a budget
 * that makes the whole matrix one block there.
 */
final class FullAdamStep {

    /**
     * Elements per block on the CPU: 4 MiB of fp32 per temporary, small enough for the allocator to
     * recycle and for the block to stay in a large last-level cache, large enough that the per-operation
     * overhead (JNI, thread hand-off) stays small next to the arithmetic.
     */
    static final long CPU_BLOCK_ELEMENTS = 1L << 20;

    private FullAdamStep() {}

    /**
     * Updates the moments with g~ = left right / (1 - beta1) and returns the projections of Adam's
     * direction, scaled: (scale B^T u, scale u A^T) with u as in {@link AdamMoments#direction(NDArray,
     * NDArray, int, double, double)}.
     *
     * @param factors (1 - beta1) g~ as its m x 2r left and 2r x n right factors
     * @param m the first moment (m x n), updated in place
     * @param v the second moment (m x n), updated in place
     * @param a A (r x n)
     * @param b B (m x r)
     * @param step t, starting at 1
     * @param adam the betas and epsilon
     * @param scale the factor applied to both projections
     * @param blockElements how many elements a block may hold (at least one row)
     * @return new arrays (r x n, m x r)
     */
    static NDList projectedDirection(
            NDList factors, NDArray m, NDArray v, NDArray a, NDArray b, int step, AdamSettings adam, double scale,
            long blockElements) {
        NDArray left = factors.get(0);
        NDArray right = factors.get(1);
        long rows = m.getShape().get(0);
        long cols = m.getShape().get(1);
        long blockRows = Math.max(1, Math.min(rows, blockElements / cols));
        NDArray projectedA = null;
        List<NDArray> projectedB = new ArrayList<>();
        try (NDArray at = a.transpose()) {
            for (long start = 0; start < rows; start += blockRows) {
                long end = Math.min(rows, start + blockRows);
                boolean whole = start == 0 && end == rows;
                NDArray mBlock = whole ? m : rows(m, start, end);
                NDArray vBlock = whole ? v : rows(v, start, end);
                NDArray leftBlock = whole ? left : rows(left, start, end);
                NDArray bBlock = whole ? b : rows(b, start, end);
                try {
                    AdamMoments.updateMoments(mBlock, vBlock, leftBlock.matMul(right), adam.beta1(), adam.beta2());
                    try (NDArray u = AdamMoments.direction(mBlock, vBlock, step, adam.beta2(), adam.eps());
                            NDArray bt = bBlock.transpose()) {
                        NDArray partA = bt.matMul(u);
                        if (projectedA == null) {
                            projectedA = partA;
                        } else {
                            projectedA.addi(partA);
                            partA.close();
                        }
                        projectedB.add(u.matMul(at));
                    }
                } finally {
                    if (!whole) {
                        // views: closing them leaves the moments and factors untouched
                        mBlock.close();
                        vBlock.close();
                        leftBlock.close();
                        bBlock.close();
                    }
                }
            }
        }
        NDArray stackedB;
        if (projectedB.size() == 1) {
            stackedB = projectedB.get(0);
        } else {
            NDList parts = new NDList(projectedB);
            stackedB = NDArrays.concat(parts, 0);
            parts.close();
        }
        return new NDList(projectedA.muli(scale), stackedB.muli(scale));
    }

    /** Rows [start, end) of a 2-D array, as a view sharing its storage. */
    private static NDArray rows(NDArray array, long start, long end) {
        return array.get(new NDIndex("{}:{}", start, end));
    }
}
