package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Attention;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.RmsNorm;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.HfBlock;

/**
 * A pre-norm attention sub-layer of a T5 block ({@code T5LayerSelfAttention} / {@code
 * T5LayerCrossAttention}): x + dropout(attention(layer_norm(x))), with T5's unscaled scores. The attention
 * module is {@code SelfAttention} or {@code EncDecAttention}; the first self-attention of a stack
 * also holds the {@code relative_attention_bias} table.
 */
public final class T5LayerAttention extends HfBlock {

    private final Attention attention;
    private final RmsNorm layerNorm;
    private final float dropoutRate;

    /**
     * An attention sub-layer.
     *
     * @param config the model configuration
     * @param name "SelfAttention" or "EncDecAttention"
     * @param relativeAttentionBias the table to register inside the attention module, or null
     */
    public T5LayerAttention(T5Config config, String name, Embedding relativeAttentionBias) {
        Attention.Builder b =
                Attention.builder()
                        .setHiddenSize(config.dModel())
                        .setHeads(config.numHeads(), config.numHeads())
                        .setHeadDim(config.dKv())
                        .optNames("q", "k", "v", "o")
                        // T5 folds 1/sqrt(d_kv) into the initialisation of q instead of the scores
                        .optScaling(1f)
                        .optDropout(config.dropoutRate());
        if (relativeAttentionBias != null) {
            b.optExtraModule("relative_attention_bias", relativeAttentionBias);
        }
        this.attention = module(name, b.build());
        this.layerNorm = module("layer_norm", new RmsNorm(config.dModel(), config.layerNormEpsilon()));
        this.dropoutRate = config.dropoutRate();
    }

    /** The attention module. */
    public Attention getAttention() {
        return attention;
    }

    /**
     * Runs the sub-layer.
     *
     * @param store the parameter store
     * @param hidden [B, T, d_model]
     * @param keyValueInput the encoder output for cross-attention, or null for self-attention
     * @param bias the position bias plus mask, broadcastable to [B, heads, T, S]
     * @param cache the KV cache or null
     * @param cacheIndex this attention's slot in the cache
     * @param training whether this is a training pass
     */
    public NDArray forward(
            ParameterStore store,
            NDArray hidden,
            NDArray keyValueInput,
            NDArray bias,
            KvCache cache,
            int cacheIndex,
            boolean training) {
        NDArray normed = layerNorm.forward(store, hidden, training);
        NDArray attended = attention.forward(store, normed, keyValueInput, bias, null, cache, cacheIndex, training);
        return hidden.add(Dropouts.apply(attended, dropoutRate, training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("call forward(store, hidden, ...) with the position bias");
    }
}
