package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.models.common.Embedding;

/**
 * T5's relative position bias: each (query, key) offset falls into one of {@code num_buckets}
 * buckets (exact for small offsets, logarithmic up to {@code max_distance}), and a learned table
 * {@code relative_attention_bias} [num_buckets, num_heads] gives each bucket one score per head.
 * The encoder's buckets are bidirectional (half of them for keys after the query); the decoder's
 * are causal (only keys at or before the query).
 */
public final class T5RelativePositionBias {

    private final Embedding table;
    private final boolean bidirectional;
    private final int numBuckets;
    private final int maxDistance;

    /**
     * A bias computed from {@code table}.
     *
     * @param table the {@code relative_attention_bias} embedding [num_buckets, num_heads]
     * @param bidirectional true for the encoder, false for the decoder
     * @param maxDistance {@code relative_attention_max_distance}
     */
    public T5RelativePositionBias(Embedding table, boolean bidirectional, int maxDistance) {
        this.table = table;
        this.bidirectional = bidirectional;
        this.numBuckets = table.getNumEmbeddings();
        this.maxDistance = maxDistance;
    }

    /** The {@code relative_attention_bias} table. */
    public Embedding table() {
        return table;
    }

    /**
     * The bucket of {@code relativePosition} = key position - query position, with transformers'
     * float32 arithmetic ({@code T5Attention._relative_position_bucket}).
     */
    public static int bucket(int relativePosition, boolean bidirectional, int numBuckets, int maxDistance) {
        int buckets = 0;
        int n = numBuckets;
        int distance;
        if (bidirectional) {
            n /= 2;
            if (relativePosition > 0) {
                buckets += n;
            }
            distance = Math.abs(relativePosition);
        } else {
            distance = -Math.min(relativePosition, 0);
        }
        int maxExact = n / 2;
        if (distance < maxExact) {
            return buckets + distance;
        }
        // torch evaluates log(d / max_exact) / log(max_distance / max_exact) * (n - max_exact) in
        // float32 and truncates; the same float operations give the same buckets at the boundaries
        float ratio = (float) distance / maxExact;
        float logRatio = (float) Math.log(ratio);
        float logRange = (float) Math.log((double) maxDistance / maxExact);
        float scaled = logRatio / logRange * (n - maxExact);
        int large = maxExact + (int) scaled;
        return buckets + Math.min(large, n - 1);
    }

    /**
     * The additive scores [1, heads, queryLength, keyLength] for queries at positions {@code
     * queryOffset .. queryOffset + queryLength - 1} over keys at {@code 0 .. keyLength - 1}.
     *
     * @param store the parameter store
     * @param manager where to create the bucket indices (the activations' manager)
     * @param training whether this is a training pass (the table may train)
     */
    public NDArray compute(
            ParameterStore store, NDManager manager, int queryOffset, int queryLength, int keyLength, boolean training) {
        long[] buckets = new long[queryLength * keyLength];
        for (int i = 0; i < queryLength; i++) {
            for (int j = 0; j < keyLength; j++) {
                buckets[i * keyLength + j] = bucket(j - (queryOffset + i), bidirectional, numBuckets, maxDistance);
            }
        }
        NDArray ids = manager.create(buckets, new Shape(queryLength, keyLength));
        NDArray values = table.embed(store, ids, training);
        return values.transpose(2, 0, 1).expandDims(0);
    }
}
