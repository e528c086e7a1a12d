package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.AttentionMasks;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.RmsNorm;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.HfModuleList;

/**
 * The encoder or the decoder of T5 ({@code T5Stack}): the shared token embeddings, {@code block}s
 * and {@code final_layer_norm}. The first block's self-attention holds the relative position bias
 * table; the bias it gives (plus the attention mask) is computed once per pass and shared by all
 * blocks, as transformers does. The embedding table belongs to the parent model ({@code shared});
 * the stack only uses it.
 */
public final class T5Stack extends HfBlock {

    private final boolean isDecoder;
    private final Embedding embedTokens;
    private final HfModuleList<T5Block> blocks;
    private final RmsNorm finalLayerNorm;
    private final T5RelativePositionBias positionBias;
    private final float dropoutRate;

    /**
     * An encoder or decoder stack.
     *
     * @param config the model configuration
     * @param isDecoder whether this is the decoder (causal, with cross-attention)
     * @param embedTokens the shared token embeddings (not registered as a child)
     */
    public T5Stack(T5Config config, boolean isDecoder, Embedding embedTokens) {
        this.isDecoder = isDecoder;
        this.embedTokens = embedTokens;
        this.dropoutRate = config.dropoutRate();
        Embedding table = new Embedding(config.relativeAttentionNumBuckets(), config.numHeads());
        this.positionBias = new T5RelativePositionBias(table, !isDecoder, config.relativeAttentionMaxDistance());
        this.blocks = module("block", new HfModuleList<>());
        int depth = isDecoder ? config.numDecoderLayers() : config.numLayers();
        for (int i = 0; i < depth; i++) {
            blocks.add(new T5Block(config, isDecoder, i == 0 ? table : null));
        }
        this.finalLayerNorm = module("final_layer_norm", new RmsNorm(config.dModel(), config.layerNormEpsilon()));
    }

    /** The blocks. */
    public HfModuleList<T5Block> getBlocks() {
        return blocks;
    }

    /** The number of KV-cache slots a decoder pass needs: self- and cross-attention of each block. */
    public int numCacheSlots() {
        return 2 * blocks.size();
    }

    /**
     * The encoder's last hidden state [B, S, d_model].
     *
     * @param store the parameter store
     * @param inputIds [B, S] token ids (INT64)
     * @param attentionMask [B, S], 1 for tokens and 0 for padding, or null
     * @param training whether this is a training pass
     */
    public NDArray encode(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training) {
        if (isDecoder) {
            throw new IllegalStateException("encode() runs the encoder stack; this is the decoder");
        }
        NDArray hidden = embed(store, inputIds, training);
        NDArray bias = selfBias(store, inputIds, attentionMask, 0, hidden.getDataType(), training);
        for (T5Block block : blocks.layers()) {
            hidden = block.forward(store, hidden, bias, null, null, null, 0, 0, training);
        }
        return normalize(store, hidden, training);
    }

    /**
     * The decoder's last hidden state [B, T, d_model] (before any output scaling).
     *
     * @param store the parameter store
     * @param decoderInputIds [B, T] decoder token ids (INT64), the new positions only when a
     *     cache holds the earlier ones
     * @param decoderAttentionMask [B, past + T], 1 for tokens and 0 for padding, or null
     * @param encoderHidden the encoder output [B, S, d_model]
     * @param encoderAttentionMask [B, S] encoder padding mask, or null
     * @param cache the KV cache ({@link #numCacheSlots()} slots) or null
     * @param training whether this is a training pass
     */
    public NDArray decode(
            ParameterStore store,
            NDArray decoderInputIds,
            NDArray decoderAttentionMask,
            NDArray encoderHidden,
            NDArray encoderAttentionMask,
            KvCache cache,
            boolean training) {
        if (!isDecoder) {
            throw new IllegalStateException("decode() runs the decoder stack; this is the encoder");
        }
        int past = cache == null ? 0 : cache.length();
        NDArray hidden = embed(store, decoderInputIds, training);
        DataType type = hidden.getDataType();
        NDArray selfBias = selfBias(store, decoderInputIds, decoderAttentionMask, past, type, training);
        NDArray crossBias = crossBias(encoderAttentionMask, type);
        int depth = blocks.size();
        for (int i = 0; i < depth; i++) {
            hidden = blocks.get(i).forward(store, hidden, selfBias, encoderHidden, crossBias, cache, i, depth + i, training);
        }
        return normalize(store, hidden, training);
    }

    /**
     * What every block's self-attention adds to its scores: the relative position bias of the
     * {@code ids}' positions (after {@code past} cached ones), plus the padding mask (encoder) or the
     * causal mask (decoder).
     *
     * @param ids [B, T] the token ids of the pass
     * @param attentionMask [B, past + T], 1 for tokens and 0 for padding, or null
     * @param past the number of positions a KV cache already holds (0 without one)
     * @param type the type of the attention scores the masks are added to
     */
    NDArray selfBias(ParameterStore store, NDArray ids, NDArray attentionMask, int past, DataType type,
            boolean training) {
        NDManager manager = ids.getManager();
        int length = (int) ids.getShape().get(1);
        NDArray bias = positionBias.compute(store, manager, past, length, past + length, training);
        if (isDecoder) {
            return bias.add(AttentionMasks.causal(manager, attentionMask, length, past, type));
        }
        return attentionMask == null ? bias : bias.add(AttentionMasks.padding(attentionMask, type));
    }

    /** What cross-attention adds to its scores: the encoder's padding mask, or null without one. */
    static NDArray crossBias(NDArray encoderAttentionMask, DataType type) {
        return encoderAttentionMask == null ? null : AttentionMasks.padding(encoderAttentionMask, type);
    }

    /** The first block's {@code relative_attention_bias} table, which every block's bias comes from. */
    Embedding positionBiasTable() {
        return positionBias.table();
    }

    /** The {@code final_layer_norm} block. */
    RmsNorm finalLayerNorm() {
        return finalLayerNorm;
    }

    /** The embedded tokens the first block reads, dropout applied in a training pass. */
    NDArray embed(ParameterStore store, NDArray ids, boolean training) {
        return Dropouts.apply(embedTokens.embed(store, ids, training), dropoutRate, training);
    }

    /** The stack's {@code final_layer_norm} of the last block's output, dropout applied in a training pass. */
    NDArray normalize(ParameterStore store, NDArray hidden, boolean training) {
        return Dropouts.apply(finalLayerNorm.forward(store, hidden, training), dropoutRate, training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        if (isDecoder) {
            throw new UnsupportedOperationException("call decode(store, ...) with the encoder output");
        }
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(encode(store, inputs.get(0), mask, training));
    }
}
