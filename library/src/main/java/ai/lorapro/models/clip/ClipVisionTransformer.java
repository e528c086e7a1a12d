package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.LayerNorm;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.ModuleTree;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * CLIP's vision tower ({@code CLIPVisionTransformer}, {@code vision_model}): embeddings, {@code
 * pre_layrnorm} (sic, as in the checkpoints), the encoder, and {@code post_layernorm} of the class
 * token as the pooled output.
 */
public final class ClipVisionTransformer extends HfBlock {

    private final ClipVisionEmbeddings embeddings;
    private final LayerNorm preLayrnorm;
    private final ClipEncoder encoder;
    private final LayerNorm postLayernorm;

    /** The vision tower of this configuration. */
    public ClipVisionTransformer(ClipVisionConfig config) {
        ClipTowerConfig tower = config.tower();
        this.embeddings = module("embeddings", new ClipVisionEmbeddings(config));
        this.preLayrnorm = module("pre_layrnorm", new LayerNorm(tower.hiddenSize(), tower.layerNormEps()));
        this.encoder = module("encoder", new ClipEncoder(tower));
        this.postLayernorm = module("post_layernorm", new LayerNorm(tower.hiddenSize(), tower.layerNormEps()));
    }

    /** The encoder. */
    public ClipEncoder getEncoder() {
        return encoder;
    }

    /**
     * Encodes {@code pixels} [B, C, H, W] (normalised as {@link ClipImageProcessor} does).
     *
     * @return the last hidden state [B, 1 + patches, hidden] and the pooled class token [B, hidden]
     */
    public ClipTowerOutput forward(ParameterStore store, NDArray pixels, boolean training) {
        NDArray last = encoder.forward(store, embed(store, pixels, training), null, training);
        return new ClipTowerOutput(last, pool(store, last, training));
    }

    /** The state entering the encoder's first layer: pre_layrnorm(embeddings(pixels)). */
    public NDArray embed(ParameterStore store, NDArray pixels, boolean training) {
        return preLayrnorm.forward(store, embeddings.forward(store, pixels, training), training);
    }

    /**
     * Checks that what {@link #embed} reads (the embeddings and {@code pre_layrnorm}) is frozen, for
     * a caller that runs it once outside the recorded graph.
     *
     * @param use what needs it frozen, for the message
     * @throws IllegalStateException naming a parameter that trains
     */
    public void requireFrozenEmbedding(String use) {
        Map<String, Parameter> read = new LinkedHashMap<>();
        ModuleTree.namedParameters(embeddings).forEach((name, p) -> read.put("embeddings." + name, p));
        ModuleTree.namedParameters(preLayrnorm).forEach((name, p) -> read.put("pre_layrnorm." + name, p));
        read.forEach((name, p) -> {
            if (p.requiresGradient()) {
                throw new IllegalStateException(use + " needs frozen vision embeddings (as under LoRA); " + name
                        + " trains");
            }
        });
    }

    /** The pooled output: post_layernorm of the class token of the encoder's last state. */
    public NDArray pool(ParameterStore store, NDArray lastHiddenState, boolean training) {
        return postLayernorm.forward(store, lastHiddenState.get(new NDIndex(":, 0, :")), training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        ClipTowerOutput out = forward(store, inputs.singletonOrThrow(), training);
        return new NDList(out.lastHiddenState(), out.pooledOutput());
    }
}
