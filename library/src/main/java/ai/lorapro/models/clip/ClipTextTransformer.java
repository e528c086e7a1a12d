package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.AttentionMasks;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.LayerNorm;
import ai.lorapro.nn.HfBlock;

/**
 * CLIP's text tower ({@code CLIPTextTransformer}, {@code text_model}): token plus position
 * embeddings ({@code embeddings.token_embedding}, {@code embeddings.position_embedding}), the
 * encoder under a causal mask (and the padding mask when given), {@code final_layer_norm}, and
 * the state at the end-of-text token as the pooled output.
 */
public final class ClipTextTransformer extends HfBlock {

    private final ClipTextConfig config;
    private final Embeddings embeddings;
    private final ClipEncoder encoder;
    private final LayerNorm finalLayerNorm;

    /** The text tower of this configuration. */
    public ClipTextTransformer(ClipTextConfig config) {
        this.config = config;
        ClipTowerConfig tower = config.tower();
        this.embeddings = module("embeddings", new Embeddings(config));
        this.encoder = module("encoder", new ClipEncoder(tower));
        this.finalLayerNorm = module("final_layer_norm", new LayerNorm(tower.hiddenSize(), tower.layerNormEps()));
    }

    /** The encoder. */
    public ClipEncoder getEncoder() {
        return encoder;
    }

    /**
     * Encodes {@code inputIds} [B, T] (INT64, T at most max_position_embeddings).
     *
     * @param attentionMask [B, T], 1 for tokens and 0 for padding, or null
     * @return the final-normed hidden state [B, T, hidden] and the state at each row's end-of-text
     *     token [B, hidden]
     */
    public ClipTowerOutput forward(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training) {
        NDManager manager = inputIds.getManager();
        int length = (int) inputIds.getShape().get(1);
        if (length > config.maxPositionEmbeddings()) {
            throw new IllegalArgumentException(
                    "input of " + length + " tokens exceeds max_position_embeddings " + config.maxPositionEmbeddings());
        }
        NDArray hidden = embeddings.forward(store, inputIds, training);
        NDArray mask = AttentionMasks.causal(manager, attentionMask, length, 0, hidden.getDataType());
        NDArray last = finalLayerNorm.forward(store, encoder.forward(store, hidden, mask, training), training);
        return new ClipTowerOutput(last, pool(last, inputIds));
    }

    /** The state of each row at its first end-of-text token (or, legacy, its largest id). */
    private NDArray pool(NDArray last, NDArray inputIds) {
        long batch = inputIds.getShape().get(0);
        int length = (int) inputIds.getShape().get(1);
        long hidden = last.getShape().get(2);
        long[] ids = inputIds.toLongArray();
        long[] index = new long[(int) (batch * hidden)];
        for (int b = 0; b < batch; b++) {
            int position = eosPosition(ids, b * length, length);
            for (int d = 0; d < hidden; d++) {
                index[(int) (b * hidden + d)] = position;
            }
        }
        NDArray gatherIndex = inputIds.getManager().create(index, new Shape(batch, 1, hidden));
        return last.gather(gatherIndex, 1).squeeze(1);
    }

    /** As torch.argmax: the first maximum; a row without end-of-text token pools at position 0. */
    private int eosPosition(long[] ids, int offset, int length) {
        int best = 0;
        if (config.poolsAtLargestId()) {
            for (int t = 1; t < length; t++) {
                if (ids[offset + t] > ids[offset + best]) {
                    best = t;
                }
            }
            return best;
        }
        for (int t = 0; t < length; t++) {
            if (ids[offset + t] == config.eosTokenId()) {
                return t;
            }
        }
        return 0;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        ClipTowerOutput out = forward(store, inputs.get(0), mask, training);
        return new NDList(out.lastHiddenState(), out.pooledOutput());
    }

    /** {@code embeddings}: token_embedding + position_embedding. */
    static final class Embeddings extends HfBlock {

        private final Embedding tokenEmbedding;
        private final Embedding positionEmbedding;

        Embeddings(ClipTextConfig config) {
            int hidden = config.tower().hiddenSize();
            this.tokenEmbedding = module("token_embedding", Embedding.tokens(config.vocabSize(), hidden));
            this.positionEmbedding = module("position_embedding", new Embedding(config.maxPositionEmbeddings(), hidden));
        }

        NDArray forward(ParameterStore store, NDArray inputIds, boolean training) {
            long length = inputIds.getShape().get(1);
            NDArray positions = inputIds.getManager().arange(0, length, 1, DataType.INT64);
            NDArray tokens = tokenEmbedding.embed(store, inputIds, training);
            return tokens.add(positionEmbedding.embed(store, positions, training).expandDims(0));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            return new NDList(forward(store, inputs.singletonOrThrow(), training));
        }
    }
}
