package ai.lorapro.models.bigram;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.Linears;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;

import java.util.Set;

/**
 * A test-only causal language model whose next token depends on the current one alone:
 * logits = lm_head(tanh(mix(embed_tokens(ids)))). It needs no cache, so incremental decoding just
 * feeds the newest token.
 */
public final class BigramLm extends HfBlock implements CausalLanguageModel, HasOutputHead {

    private final int vocabSize;
    private final Embedding embedTokens;
    private final LoraLinear mix;
    private final LoraLinear lmHead;

    /** An empty model (no weights yet). */
    public BigramLm(int vocabSize, int hiddenSize) {
        this.vocabSize = vocabSize;
        this.embedTokens = module("embed_tokens", new Embedding(vocabSize, hiddenSize));
        this.mix = module("mix", Linears.create(hiddenSize, hiddenSize, false));
        this.lmHead = module("lm_head", Linears.create(hiddenSize, vocabSize, false));
    }

    @Override
    public NDArray logits(ParameterStore store, NDArray inputIds, NDArray attentionMask, NDArray positionIds,
            KvCache cache, boolean training) {
        NDArray hidden = Linears.run(mix, store, embedTokens.embed(store, inputIds, training), training).tanh();
        return Linears.run(lmHead, store, hidden, training);
    }

    @Override
    public int numCacheLayers() {
        return 0;
    }

    @Override
    public int vocabSize() {
        return vocabSize;
    }

    @Override
    public Set<String> outputHeadPaths() {
        return Set.of("lm_head");
    }

    @Override
    protected NDList forwardInternal(ParameterStore store, NDList inputs, boolean training,
            PairList<String, Object> params) {
        return new NDList(logits(store, inputs.get(0), null, null, null, training));
    }
}
