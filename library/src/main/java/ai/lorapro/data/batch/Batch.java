package ai.lorapro.data.batch;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;
import java.util.List;

/**
 * A right-padded micro-batch held on the host: {@code input_ids}, {@code attention_mask} (1 for
 * real tokens, 0 for padding) and {@code labels} ({@link Example#IGNORE_INDEX} on padding), each
 * {@code [batchSize, seqLength]} in row-major order.
 */
public final class Batch {

    private final int batchSize;
    private final int seqLength;
    private final long[] inputIds;
    private final long[] attentionMask;
    private final long[] labels;

    private Batch(int batchSize, int seqLength, long[] inputIds, long[] attentionMask,
            long[] labels) {
        this.batchSize = batchSize;
        this.seqLength = seqLength;
        this.inputIds = inputIds;
        this.attentionMask = attentionMask;
        this.labels = labels;
    }

    /**
     * Pads {@code examples} on the right to the longest of them.
     *
     * @param examples at least one example
     * @param padId the id written into padded positions (masked out, so any valid id works)
     * @return the batch
     */
    public static Batch collate(List<Example> examples, long padId) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("a batch needs at least one example");
        }
        int seq = examples.stream().mapToInt(Example::length).max().orElseThrow();
        int n = examples.size();
        long[] ids = new long[n * seq];
        long[] mask = new long[n * seq];
        long[] labels = new long[n * seq];
        for (int i = 0; i < n; i++) {
            Example example = examples.get(i);
            for (int t = 0; t < seq; t++) {
                int k = i * seq + t;
                boolean real = t < example.length();
                ids[k] = real ? example.inputId(t) : padId;
                mask[k] = real ? 1 : 0;
                labels[k] = real ? example.label(t) : Example.IGNORE_INDEX;
            }
        }
        return new Batch(n, seq, ids, mask, labels);
    }

    /** The number of examples. */
    public int batchSize() {
        return batchSize;
    }

    /** The padded sequence length. */
    public int seqLength() {
        return seqLength;
    }

    /** A copy of the ids, row-major {@code [batchSize, seqLength]}. */
    public long[] inputIds() {
        return inputIds.clone();
    }

    /** A copy of the attention mask, row-major {@code [batchSize, seqLength]}. */
    public long[] attentionMask() {
        return attentionMask.clone();
    }

    /** A copy of the labels, row-major {@code [batchSize, seqLength]}. */
    public long[] labels() {
        return labels.clone();
    }

    /**
     * The examples {@code from} (inclusive) to {@code to} (exclusive) as a batch of their own, padded
     * to this batch's length (right padding, so the real tokens see the same positions).
     *
     * @throws IllegalArgumentException unless {@code 0 <= from < to <= batchSize()}
     */
    public Batch rows(int from, int to) {
        if (from < 0 || to > batchSize || from >= to) {
            throw new IllegalArgumentException("rows " + from + " to " + to + " of a batch of " + batchSize);
        }
        int a = from * seqLength;
        int b = to * seqLength;
        return new Batch(to - from, seqLength, Arrays.copyOfRange(inputIds, a, b),
                Arrays.copyOfRange(attentionMask, a, b), Arrays.copyOfRange(labels, a, b));
    }

    /** The number of real (unpadded) tokens, for throughput. */
    public long tokenCount() {
        long n = 0;
        for (long m : attentionMask) {
            n += m;
        }
        return n;
    }

    /** The number of labels that count in the loss. */
    public long supervisedTokenCount() {
        return supervisedTokenCount(0);
    }

    /**
     * The number of labels that count in the loss at positions {@code first} and after of each row
     * (1 for a causal LM, whose loss predicts position t from the positions before it and so never
     * scores position 0).
     */
    public long supervisedTokenCount(int first) {
        long n = 0;
        for (int row = 0; row < batchSize; row++) {
            for (int t = first; t < seqLength; t++) {
                if (labels[row * seqLength + t] != Example.IGNORE_INDEX) {
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * The batch as int64 arrays {@code [input_ids, attention_mask, labels]} created by {@code
     * manager}, hence on its device; the caller closes them (or the manager).
     *
     * @param manager the manager of the model's device, usually a per-step sub-manager
     * @return the three arrays, each {@code [batchSize, seqLength]}
     */
    public NDList toNDList(NDManager manager) {
        Shape shape = new Shape(batchSize, seqLength);
        NDArray ids = manager.create(inputIds, shape);
        ids.setName("input_ids");
        NDArray mask = manager.create(attentionMask, shape);
        mask.setName("attention_mask");
        NDArray lab = manager.create(labels, shape);
        lab.setName("labels");
        return new NDList(ids, mask, lab);
    }
}
