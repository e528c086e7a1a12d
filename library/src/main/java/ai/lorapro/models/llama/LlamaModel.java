package ai.lorapro.models.llama;

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
import ai.lorapro.models.common.RotaryEmbedding;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.HfModuleList;

import java.util.List;

/** The Llama decoder stack without output head: {@code embed_tokens}, {@code layers}, {@code norm}. */
public final class LlamaModel extends HfBlock {

    private final LlamaConfig config;
    private final RotaryEmbedding rotary;
    private final Embedding embedTokens;
    private final HfModuleList<LlamaDecoderLayer> layers;
    private final RmsNorm norm;

    /** An empty model (no weights yet) of this configuration. */
    public LlamaModel(LlamaConfig config) {
        this.config = config;
        this.rotary = new RotaryEmbedding(config.headDim(), config.ropeTheta());
        this.embedTokens = module("embed_tokens", Embedding.tokens(config.vocabSize(), config.hiddenSize()));
        this.layers = module("layers", new HfModuleList<>());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new LlamaDecoderLayer(config, rotary, i));
        }
        this.norm = module("norm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
    }

    /** The token embeddings. */
    public Embedding getEmbedTokens() {
        return embedTokens;
    }

    /**
     * The final hidden states [B, T, hidden].
     *
     * @param store the parameter store
     * @param inputIds [B, T] token ids (INT64)
     * @param attentionMask [B, past + T] with 1 for tokens and 0 for padding, or null for none
     * @param positionIds [B or 1, T] positions, or null for past .. past + T - 1 (HF's default)
     * @param cache the KV cache holding the past positions, or null
     * @param training whether this is a training pass
     */
    public NDArray forward(
            ParameterStore store,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training) {
        LayerInputs in = layerInputs(store, inputIds, attentionMask, positionIds, cache, training);
        NDArray hidden = in.embedded();
        for (LlamaDecoderLayer layer : layers.layers()) {
            hidden = layer.forward(store, hidden, in.mask(), in.angles(), cache, training);
        }
        return norm.forward(store, hidden, training);
    }

    /** What every decoder layer of one pass shares: the embedded tokens, the mask and the rotary angles. */
    record LayerInputs(NDArray embedded, NDArray mask, RotaryEmbedding.Angles angles) {}

    /** The embeddings, causal mask and rotary angles of a pass (see {@link #forward}). */
    LayerInputs layerInputs(
            ParameterStore store,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training) {
        NDManager manager = inputIds.getManager();
        int length = (int) inputIds.getShape().get(1);
        int past = cache == null ? 0 : cache.length();
        NDArray hidden = embedTokens.embed(store, inputIds, training);
        DataType type = hidden.getDataType();
        NDArray positions =
                positionIds != null ? positionIds : manager.arange(past, past + length, 1, DataType.INT64).reshape(1, length);
        RotaryEmbedding.Angles angles = rotary.angles(positions, type);
        NDArray mask = AttentionMasks.causal(manager, attentionMask, length, past, type);
        return new LayerInputs(hidden, mask, angles);
    }

    /** The decoder layers. */
    List<LlamaDecoderLayer> decoderLayers() {
        return layers.layers();
    }

    /** The final norm. */
    RmsNorm finalNorm() {
        return norm;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(store, inputs.get(0), mask, null, null, training));
    }

    /** The configuration. */
    public LlamaConfig getConfig() {
        return config;
    }
}
