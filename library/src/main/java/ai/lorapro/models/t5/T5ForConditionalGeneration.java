package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.common.Embedding;
import ai.lorapro.models.common.KvCache;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.common.Linears;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.Scalars;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * T5 with its language-modelling head, as Hugging Face's {@code T5ForConditionalGeneration}:
 * {@code shared} token embeddings used by both stacks, the {@code encoder} and {@code decoder}
 * ({@link T5Stack}), and {@code lm_head} unless the head is tied to {@code shared}. Parameters are
 * named exactly like the checkpoint's tensors.
 *
 * <p>Training pass: {@link #forward} shifts the labels right to make the decoder inputs, and the
 * loss is the mean cross-entropy over labels that are not -100. As a DJL block it takes {@code
 * [input_ids, attention_mask, decoder_input_ids]} and returns {@code [logits]}.
 */
public final class T5ForConditionalGeneration extends HfBlock implements HasOutputHead {

    private static final String LM_HEAD = "lm_head";

    private final T5Config config;
    private final Embedding shared;
    private final T5Stack encoder;
    private final T5Stack decoder;
    private final LoraLinear lmHead;

    /** An empty model (no weights yet); fill it with {@link #fromPretrained} or {@link #random}. */
    public T5ForConditionalGeneration(T5Config config) {
        this.config = config;
        this.shared = module("shared", Embedding.tokens(config.vocabSize(), config.dModel()));
        this.encoder = module("encoder", new T5Stack(config, false, shared));
        this.decoder = module("decoder", new T5Stack(config, true, shared));
        this.lmHead =
                config.tieWordEmbeddings()
                        ? null
                        : module(LM_HEAD, Linears.create(config.dModel(), config.vocabSize(), false));
    }

    /**
     * Loads a Hugging Face checkpoint directory holding {@code config.json} and {@code
     * model.safetensors} (or shards with {@code model.safetensors.index.json}), as float32 weights.
     *
     * @throws ai.lorapro.InvalidInputException for a bad config; its subclass {@link
     *     ai.lorapro.io.CheckpointFormatException} for a missing, unexpected or misshapen tensor
     */
    public static T5ForConditionalGeneration fromPretrained(Path dir, NDManager manager) {
        return fromPretrained(dir, manager, DataType.FLOAT32);
    }

    /**
     * Loads a Hugging Face checkpoint directory holding {@code config.json} and {@code
     * model.safetensors} (or shards with {@code model.safetensors.index.json}).
     *
     * @param frozenType the type of the (frozen) base weights, FLOAT32 or FLOAT16
     */
    public static T5ForConditionalGeneration fromPretrained(Path dir, NDManager manager, DataType frozenType) {
        return (T5ForConditionalGeneration) new T5Family().readConfig(dir.resolve(ModelFamilies.CONFIG_FILE))
                .load(dir, manager, frozenType);
    }

    /**
     * Builds a model of {@code config} with its weights from {@code source}. Every parameter must
     * be found and every tensor used, except {@code encoder.embed_tokens.weight} and {@code
     * decoder.embed_tokens.weight}, which tied checkpoints store as aliases of {@code shared}.
     * A checkpoint that stores its own {@code lm_head.weight} gets an untied head whatever the
     * config says (transformers 5 writes {@code tie_word_embeddings: true} even for such models;
     * the stored head is the one they were trained with).
     *
     * @param sourceName how to name the checkpoint in error messages
     */
    public static T5ForConditionalGeneration fromPretrained(
            T5Config config, TensorSource source, String sourceName, NDManager manager, DataType frozenType) {
        return (T5ForConditionalGeneration) new T5Family.Architecture(config)
                .load(source, sourceName, manager, frozenType);
    }

    /** {@code config}, untied when the checkpoint's tensors include its own {@code lm_head.weight}. */
    static T5Config forCheckpoint(T5Config config, java.util.Collection<String> tensorNames) {
        return tensorNames.contains(LM_HEAD + ".weight") && config.tieWordEmbeddings()
                ? config.withUntiedHead()
                : config;
    }

    static boolean isAlias(String tensor) {
        return tensor.equals("encoder.embed_tokens.weight") || tensor.equals("decoder.embed_tokens.weight");
    }

    /**
     * A model of {@code config} with reproducible random float32 weights (matrices ~ N(0,
     * (initializer_factor / sqrt(d_model))^2), unit norms), for tests and demos.
     */
    public static T5ForConditionalGeneration random(T5Config config, NDManager manager, long seed) {
        T5ForConditionalGeneration m = new T5ForConditionalGeneration(config);
        float std = (float) (config.initializerFactor() / Math.sqrt(config.dModel()));
        RandomWeights.initialize(m, manager, DataType.FLOAT32, seed, std);
        return m;
    }

    /**
     * The encoder's last hidden state [B, S, d_model].
     *
     * @param inputIds [B, S] token ids (INT64)
     * @param attentionMask [B, S], 1 for tokens and 0 for padding, or null
     */
    public NDArray encode(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training) {
        return encoder.encode(store, inputIds, attentionMask, training);
    }

    /**
     * The logits [B, T, vocab] of the decoder inputs given the encoder output.
     *
     * @param decoderInputIds [B, T] (only the new positions when {@code cache} holds the others)
     * @param encoderHidden the output of {@link #encode}
     * @param encoderAttentionMask the encoder's padding mask [B, S], or null
     * @param cache a KV cache with {@link #numCacheSlots()} slots, or null
     */
    public NDArray decode(
            ParameterStore store,
            NDArray decoderInputIds,
            NDArray encoderHidden,
            NDArray encoderAttentionMask,
            KvCache cache,
            boolean training) {
        NDArray hidden = decoder.decode(store, decoderInputIds, null, encoderHidden, encoderAttentionMask, cache, training);
        return logits(store, hidden, training);
    }

    /**
     * A teacher-forced training pass split at block boundaries, for recomputing one block at a time
     * ({@code LayerRecompute}): the encoder's blocks, one step from the encoder to the decoder, and
     * the decoder's blocks; the head gives the logits {@link #decode} gives.
     *
     * <p>A decoder block reads the encoder output besides its own input, and the encoder output's
     * gradient sums the shares of every decoder block. So between decoder blocks the state carries
     * both, joined along the sequence axis: [decoder hidden state (T positions); encoder output (S
     * positions)]. The middle step applies the encoder's final norm and joins its output to the
     * embedded decoder input; each decoder block passes the encoder part on unchanged, and when its
     * backward pass runs it adds its cross-attention's share to the gradient of that part.
     *
     * <p>For a training pass the embeddings and the relative position bias tables must be frozen (as
     * they are under LoRA): they are read once per pass, outside the recomputed blocks.
     *
     * @param store the parameter store
     * @param inputIds [B, S] encoder token ids
     * @param attentionMask [B, S] encoder padding mask, or null
     * @param decoderInputIds [B, T] decoder token ids (e.g. {@link #shiftRight} of the labels)
     * @param training whether this is a training pass
     * @return the pass, whose head gives the logits [B, T, vocab]
     * @throws IllegalStateException if, for a training pass, an embedding or position bias table trains
     */
    public LayeredPass layeredPass(ParameterStore store, NDArray inputIds, NDArray attentionMask,
            NDArray decoderInputIds, boolean training) {
        if (training) {
            // read once, outside the recomputed blocks: a trainable table's gradient would be lost
            for (Embedding table : List.of(shared, encoder.positionBiasTable(), decoder.positionBiasTable())) {
                table.requireFrozen("a layered training pass");
            }
        }
        long targetLength = decoderInputIds.getShape().get(1);
        NDArray source = encoder.embed(store, inputIds, training);
        NDArray target = decoder.embed(store, decoderInputIds, training);
        DataType type = source.getDataType();
        NDArray encoderBias = encoder.selfBias(store, inputIds, attentionMask, 0, type, training);
        NDArray decoderBias = decoder.selfBias(store, decoderInputIds, null, 0, type, training);
        NDArray crossBias = T5Stack.crossBias(attentionMask, type);
        NDIndex decoderPart = new NDIndex(":, :{}", targetLength);
        NDIndex encoderPart = new NDIndex(":, {}:", targetLength);
        List<UnaryOperator<NDArray>> steps = new ArrayList<>();
        for (T5Block block : encoder.getBlocks().layers()) {
            steps.add(hidden -> block.forward(store, hidden, encoderBias, null, null, null, 0, 0, training));
        }
        steps.add(hidden -> NDArrays.concat(new NDList(target, encoder.normalize(store, hidden, training)), 1));
        for (T5Block block : decoder.getBlocks().layers()) {
            steps.add(state -> {
                NDArray encoded = state.get(encoderPart);
                NDArray hidden = block.forward(store, state.get(decoderPart), decoderBias, encoded, crossBias, null, 0,
                        0, training);
                return NDArrays.concat(new NDList(hidden, encoded), 1);
            });
        }
        // what each step runs, so that a backward pass can stop below the lowest that trains
        List<Block> stepBlocks = new ArrayList<>(encoder.getBlocks().layers());
        stepBlocks.add(encoder.finalLayerNorm());
        stepBlocks.addAll(decoder.getBlocks().layers());
        return LayeredPass.of(source, steps, UnaryOperator::apply,
                state -> logits(store, decoder.normalize(store, state.get(decoderPart), training), training),
                LayeredPass.firstTraining(stepBlocks));
    }

    /** The logits [B, T, vocab] of the decoder's last hidden state. */
    private NDArray logits(ParameterStore store, NDArray hidden, boolean training) {
        if (config.scaleDecoderOutputs()) {
            // the Mesh TensorFlow rescale before the (tied) output projection
            hidden = Scalars.mul(hidden, Math.pow(config.dModel(), -0.5));
        }
        if (lmHead == null) {
            return shared.project(store, hidden, training);
        }
        return lmHead.forward(store, new NDList(hidden), training).singletonOrThrow();
    }

    /**
     * A teacher-forced pass: encode, shift {@code labels} right into decoder inputs, decode, and
     * the mean cross-entropy against the labels.
     *
     * @param inputIds [B, S] encoder token ids
     * @param attentionMask [B, S] encoder padding mask, or null
     * @param labels [B, T] target ids, -100 where not counted
     */
    public Output forward(
            ParameterStore store, NDArray inputIds, NDArray attentionMask, NDArray labels, boolean training) {
        NDArray encoderHidden = encode(store, inputIds, attentionMask, training);
        NDArray logits = decode(store, shiftRight(labels), encoderHidden, attentionMask, null, training);
        return new Output(logits, CrossEntropy.mean(logits, labels), encoderHidden);
    }

    /** The mean cross-entropy of {@code logits} [B, T, V] against aligned {@code labels} [B, T]. */
    public static NDArray loss(NDArray logits, NDArray labels) {
        return CrossEntropy.mean(logits, labels);
    }

    /**
     * The decoder inputs for {@code labels} [B, T]: decoder_start_token_id, then labels[:, :-1],
     * with -100 replaced by pad_token_id (transformers' {@code _shift_right}).
     */
    public NDArray shiftRight(NDArray labels) {
        long batch = labels.getShape().get(0);
        long length = labels.getShape().get(1);
        NDManager manager = labels.getManager();
        NDArray ids = labels.toType(DataType.INT64, false);
        NDArray start = manager.full(new Shape(batch, 1), config.decoderStartTokenId(), DataType.INT64);
        NDArray shifted = NDArrays.concat(new NDList(start, ids.get(new NDIndex(":, :{}", length - 1))), 1);
        NDArray ignored = shifted.eq(CrossEntropy.IGNORE_INDEX);
        NDArray pad = manager.full(shifted.getShape(), config.padTokenId(), DataType.INT64);
        return NDArrays.where(ignored, pad, shifted);
    }

    /** The number of KV-cache slots a decoder pass needs. */
    public int numCacheSlots() {
        return decoder.numCacheSlots();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        if (inputs.size() != 3) {
            throw new IllegalArgumentException("expected [input_ids, attention_mask, decoder_input_ids]");
        }
        NDArray encoderHidden = encode(store, inputs.get(0), inputs.get(1), training);
        return new NDList(decode(store, inputs.get(2), encoderHidden, inputs.get(1), null, training));
    }

    @Override
    public Set<String> outputHeadPaths() {
        return Set.of(LM_HEAD);
    }

    /** The configuration (with the head untied if the checkpoint stored one). */
    public T5Config getConfig() {
        return config;
    }

    /** The shared token embeddings. */
    public Embedding getShared() {
        return shared;
    }

    /** The encoder stack. */
    public T5Stack getEncoder() {
        return encoder;
    }

    /** The decoder stack. */
    public T5Stack getDecoder() {
        return decoder;
    }

    /** The output head, or null when tied to {@code shared}. */
    public LoraLinear getLmHead() {
        return lmHead;
    }

    /**
     * The result of a teacher-forced pass.
     *
     * @param logits [B, T, vocab]
     * @param loss the mean cross-entropy (float32 scalar)
     * @param encoderLastHiddenState [B, S, d_model]
     */
    public record Output(NDArray logits, NDArray loss, NDArray encoderLastHiddenState) {}
}
