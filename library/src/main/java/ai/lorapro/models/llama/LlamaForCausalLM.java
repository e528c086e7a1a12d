package ai.lorapro.models.llama;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.LayeredModel;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.common.Linears;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;

import java.nio.file.Path;
import java.util.Set;

/**
 * Llama with its language-modelling head, as Hugging Face's {@code LlamaForCausalLM}: parameters
 * are named exactly like the checkpoint's tensors ({@code model.layers.0.self_attn.q_proj.weight},
 * {@code lm_head.weight}, ...). With {@code tie_word_embeddings} the head reuses {@code
 * model.embed_tokens.weight} and has no parameter of its own.
 *
 * <p>As a DJL block it takes {@code [input_ids]} or {@code [input_ids, attention_mask]} and returns
 * {@code [logits]}.
 */
public final class LlamaForCausalLM extends HfBlock implements HasOutputHead, LayeredModel {

    private static final String LM_HEAD = "lm_head";

    private final LlamaConfig config;
    private final LlamaModel model;
    private final LoraLinear lmHead;

    /** An empty model (no weights yet); fill it with {@link #fromPretrained} or {@link #random}. */
    public LlamaForCausalLM(LlamaConfig config) {
        this.config = config;
        this.model = module("model", new LlamaModel(config));
        this.lmHead =
                config.tieWordEmbeddings()
                        ? null
                        : module(LM_HEAD, Linears.create(config.hiddenSize(), config.vocabSize(), false));
    }

    /**
     * Loads a Hugging Face checkpoint directory (config.json and safetensors weights) as float32
     * weights, as {@code T5ForConditionalGeneration} and {@code ClipModel} do.
     *
     * @throws ai.lorapro.InvalidInputException for a bad config; its subclass {@link
     *     ai.lorapro.io.CheckpointFormatException} for a missing, unexpected or misshapen tensor
     */
    public static LlamaForCausalLM fromPretrained(Path dir, NDManager manager) {
        return fromPretrained(dir, manager, DataType.FLOAT32);
    }

    /**
     * Loads a Hugging Face checkpoint directory holding {@code config.json} and {@code
     * model.safetensors} (or shards with {@code model.safetensors.index.json}; bf16 is widened on the
     * host).
     *
     * @param dir the checkpoint directory
     * @param manager where the weights live
     * @param frozenType the type of the (frozen) base weights, FLOAT32 or FLOAT16
     * @throws ai.lorapro.InvalidInputException for a bad config; its subclass {@link
     *     ai.lorapro.io.CheckpointFormatException} for a missing, unexpected or misshapen tensor
     */
    public static LlamaForCausalLM fromPretrained(Path dir, NDManager manager, DataType frozenType) {
        return (LlamaForCausalLM) new LlamaFamily().readConfig(dir.resolve(ModelFamilies.CONFIG_FILE))
                .load(dir, manager, frozenType);
    }

    /**
     * Builds a model of {@code config} with its weights from {@code source}; every parameter must
     * be found and every tensor used (stale {@code rotary_emb.inv_freq} buffers of old exports are
     * skipped, as transformers does).
     *
     * @param sourceName how to name the checkpoint in error messages
     */
    public static LlamaForCausalLM fromPretrained(
            LlamaConfig config, TensorSource source, String sourceName, NDManager manager, DataType frozenType) {
        return (LlamaForCausalLM) new LlamaFamily.Architecture(config).load(source, sourceName, manager, frozenType);
    }

    static boolean ignorable(String tensor) {
        return tensor.endsWith(".rotary_emb.inv_freq");
    }

    /**
     * A model of {@code config} with reproducible random float32 weights (N(0, initializer_range^2)
     * matrices, unit norms), for tests and demos.
     */
    public static LlamaForCausalLM random(LlamaConfig config, NDManager manager, long seed) {
        LlamaForCausalLM m = new LlamaForCausalLM(config);
        RandomWeights.initialize(m, manager, DataType.FLOAT32, seed, config.initializerRange());
        return m;
    }

    /**
     * The logits [B, T, vocab] of {@code inputIds} [B, T] (INT64). Every intermediate array
     * belongs to {@code inputIds}' manager, so creating the inputs on a per-step sub-manager frees
     * the whole pass when it closes.
     *
     * @param attentionMask [B, past + T], 1 for tokens and 0 for padding, or null for none
     * @param positionIds [B or 1, T], or null for past .. past + T - 1
     * @param cache keys and values of past positions, extended in place; or null
     */
    @Override
    public NDArray logits(
            ParameterStore store,
            NDArray inputIds,
            NDArray attentionMask,
            NDArray positionIds,
            KvCache cache,
            boolean training) {
        NDArray hidden = model.forward(store, inputIds, attentionMask, positionIds, cache, training);
        return project(store, hidden, training);
    }

    /** The logits of the final (normalised) hidden states. */
    private NDArray project(ParameterStore store, NDArray hidden, boolean training) {
        if (lmHead == null) {
            return model.getEmbedTokens().project(store, hidden, training);
        }
        return lmHead.forward(store, new NDList(hidden), training).singletonOrThrow();
    }

    @Override
    public LayeredPass layeredPass(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training) {
        if (training) {
            // the embedding is read once, outside the recomputed layers: its gradient would be lost
            model.getEmbedTokens().requireFrozen("a layered training pass");
        }
        LlamaModel.LayerInputs in = model.layerInputs(store, inputIds, attentionMask, null, null, training);
        return LayeredPass.of(in.embedded(), model.decoderLayers(),
                (layer, hidden) -> layer.forward(store, hidden, in.mask(), in.angles(), null, training),
                hidden -> project(store, model.finalNorm().forward(store, hidden, training), training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(logits(store, inputs.get(0), mask, null, null, training));
    }

    @Override
    public int vocabSize() {
        return config.vocabSize();
    }

    @Override
    public int numCacheLayers() {
        return config.numHiddenLayers();
    }

    @Override
    public Set<String> outputHeadPaths() {
        return Set.of(LM_HEAD);
    }

    /** The configuration. */
    public LlamaConfig getConfig() {
        return config;
    }

    /** The decoder stack ({@code model}). */
    public LlamaModel getModel() {
        return model;
    }

    /** The output head, or null when tied to the input embeddings. */
    public LoraLinear getLmHead() {
        return lmHead;
    }
}
