package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Attention;
import ai.lorapro.models.common.LayerNorm;
import ai.lorapro.models.common.Mlp;
import ai.lorapro.nn.HfBlock;

/**
 * One pre-norm CLIP encoder layer: h = x + self_attn(layer_norm1(x)); out = h +
 * mlp(layer_norm2(h)), with biased {@code q_proj, k_proj, v_proj, out_proj} and {@code fc1, fc2}.
 */
public final class ClipEncoderLayer extends HfBlock {

    private final Attention selfAttn;
    private final LayerNorm layerNorm1;
    private final Mlp mlp;
    private final LayerNorm layerNorm2;

    /** A layer of a tower with these sizes. */
    public ClipEncoderLayer(ClipTowerConfig config) {
        int hidden = config.hiddenSize();
        this.selfAttn =
                module(
                        "self_attn",
                        Attention.builder()
                                .setHiddenSize(hidden)
                                .setHeads(config.numAttentionHeads(), config.numAttentionHeads())
                                .setHeadDim(config.headDim())
                                .optNames("q_proj", "k_proj", "v_proj", "out_proj")
                                .optBias(true)
                                .optDropout(config.attentionDropout())
                                .build());
        this.layerNorm1 = module("layer_norm1", new LayerNorm(hidden, config.layerNormEps()));
        this.mlp = module("mlp", Mlp.plain(hidden, config.intermediateSize(), config.hiddenAct(), true, "fc1", "fc2",
                0f));
        this.layerNorm2 = module("layer_norm2", new LayerNorm(hidden, config.layerNormEps()));
    }

    /** The attention module. */
    public Attention getSelfAttn() {
        return selfAttn;
    }

    /**
     * Runs the layer on {@code hidden} [B, T, hidden] with an additive {@code mask} broadcastable
     * to [B, heads, T, T], or null.
     */
    public NDArray forward(ParameterStore store, NDArray hidden, NDArray mask, boolean training) {
        NDArray attended = selfAttn.forward(
                store, layerNorm1.forward(store, hidden, training), null, mask, null, null, 0, training);
        NDArray h = hidden.add(attended);
        return h.add(mlp.forward(store, layerNorm2.forward(store, h, training), training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(store, inputs.get(0), mask, training));
    }
}
