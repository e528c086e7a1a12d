package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.HfModuleList;

/**
 * One T5 block: {@code layer.0} self-attention, then for the decoder {@code layer.1}
 * cross-attention on the encoder output, then the feed-forward sub-layer ({@code layer.1} in the
 * encoder, {@code layer.2} in the decoder).
 */
public final class T5Block extends HfBlock {

    private final T5LayerAttention selfAttention;
    private final T5LayerAttention crossAttention;
    private final T5LayerFF feedForward;

    /**
     * A block of the encoder or the decoder.
     *
     * @param relativeAttentionBias the stack's bias table if this is its first block, else null
     */
    public T5Block(T5Config config, boolean isDecoder, Embedding relativeAttentionBias) {
        HfModuleList<HfBlock> layer = module("layer", new HfModuleList<>());
        this.selfAttention = new T5LayerAttention(config, "SelfAttention", relativeAttentionBias);
        this.crossAttention = isDecoder ? new T5LayerAttention(config, "EncDecAttention", null) : null;
        this.feedForward = new T5LayerFF(config);
        layer.add(selfAttention);
        if (crossAttention != null) {
            layer.add(crossAttention);
        }
        layer.add(feedForward);
    }

    /** The self-attention sub-layer ({@code layer.0}). */
    public T5LayerAttention getSelfAttention() {
        return selfAttention;
    }

    /** The cross-attention sub-layer ({@code layer.1}), or null in the encoder. */
    public T5LayerAttention getCrossAttention() {
        return crossAttention;
    }

    /**
     * Runs the block.
     *
     * @param store the parameter store
     * @param hidden [B, T, d_model]
     * @param selfBias the self-attention position bias plus mask
     * @param encoderHidden the encoder output [B, S, d_model] (decoder only)
     * @param crossBias the encoder padding mask for cross-attention, or null
     * @param cache the decoder's KV cache or null
     * @param selfSlot this block's self-attention slot in the cache
     * @param crossSlot this block's cross-attention slot in the cache
     * @param training whether this is a training pass
     */
    public NDArray forward(
            ParameterStore store,
            NDArray hidden,
            NDArray selfBias,
            NDArray encoderHidden,
            NDArray crossBias,
            KvCache cache,
            int selfSlot,
            int crossSlot,
            boolean training) {
        NDArray h = selfAttention.forward(store, hidden, null, selfBias, cache, selfSlot, training);
        if (crossAttention != null) {
            h = crossAttention.forward(store, h, encoderHidden, crossBias, cache, crossSlot, training);
        }
        return feedForward.forward(store, h, training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("call forward(store, hidden, ...) with the position bias");
    }
}
