package ai.lorapro.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.Attention;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.Mlp;
import ai.lorapro.models.common.RmsNorm;
import ai.lorapro.models.common.RotaryEmbedding;
import ai.lorapro.nn.HfBlock;

/**
 * One pre-norm Llama block: h = x + self_attn(input_layernorm(x)); out = h +
 * mlp(post_attention_layernorm(h)).
 */
public final class LlamaDecoderLayer extends HfBlock {

    private final int layerIndex;
    private final Attention selfAttn;
    private final Mlp mlp;
    private final RmsNorm inputLayernorm;
    private final RmsNorm postAttentionLayernorm;

    /** Layer number {@code layerIndex} of a model with configuration {@code config}. */
    public LlamaDecoderLayer(LlamaConfig config, RotaryEmbedding rotary, int layerIndex) {
        this.layerIndex = layerIndex;
        this.selfAttn =
                module(
                        "self_attn",
                        Attention.builder()
                                .setHiddenSize(config.hiddenSize())
                                .setHeads(config.numAttentionHeads(), config.numKeyValueHeads())
                                .setHeadDim(config.headDim())
                                .optBias(config.attentionBias())
                                .optDropout(config.attentionDropout())
                                .optRotary(rotary)
                                .build());
        this.mlp =
                module(
                        "mlp",
                        Mlp.gated(
                                config.hiddenSize(),
                                config.intermediateSize(),
                                Activation.SILU,
                                config.mlpBias(),
                                "gate_proj",
                                "up_proj",
                                "down_proj",
                                0f));
        this.inputLayernorm =
                module("input_layernorm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
        this.postAttentionLayernorm =
                module("post_attention_layernorm", new RmsNorm(config.hiddenSize(), config.rmsNormEps()));
    }

    /**
     * Runs the block on {@code hidden} [B, T, hidden] with an additive causal/padding {@code mask}
     * [B or 1, 1, T, S], the rotary {@code angles} of the T positions and an optional cache.
     */
    public NDArray forward(
            ParameterStore store,
            NDArray hidden,
            NDArray mask,
            RotaryEmbedding.Angles angles,
            KvCache cache,
            boolean training) {
        NDArray normed = inputLayernorm.forward(store, hidden, training);
        NDArray attended = selfAttn.forward(store, normed, null, mask, angles, cache, layerIndex, training);
        NDArray h = hidden.add(attended);
        NDArray mlpOut = mlp.forward(store, postAttentionLayernorm.forward(store, h, training), training);
        return h.add(mlpOut);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException(
                "a decoder layer needs masks and rotary angles; call forward(store, hidden, ...)");
    }
}
