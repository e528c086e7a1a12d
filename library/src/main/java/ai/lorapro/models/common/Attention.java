package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.PassArrays;
import ai.lorapro.nn.Scalars;

/**
 * Multi-head attention as Hugging Face's eager implementation computes it: project, split heads,
 * optionally rotate q and k, repeat key/value heads for grouped-query attention, softmax(q k^T *
 * scaling + bias) in float32, weight the values, merge heads, project out.
 *
 * <p>One block serves Llama ({@code q_proj..o_proj}, rotary, GQA), T5 ({@code q,k,v,o}, no
 * scaling, relative position bias passed as the additive bias, cross-attention on the encoder
 * output) and CLIP ({@code out_proj}, biases). Its four projections are {@link LoraLinear}s.
 */
public final class Attention extends HfBlock {

    private final int numHeads;
    private final int numKeyValueHeads;
    private final int headDim;
    private final float scaling;
    /** Dropout on the attention probabilities in training passes; 0 for none. */
    private final float dropout;
    private final RotaryEmbedding rotary;
    private final LoraLinear query;
    private final LoraLinear key;
    private final LoraLinear value;
    private final LoraLinear output;

    private Attention(Builder b) {
        this.numHeads = b.numHeads;
        this.numKeyValueHeads = b.numKeyValueHeads;
        this.headDim = b.headDim;
        this.scaling = b.scaling == null ? (float) (1.0 / Math.sqrt(b.headDim)) : b.scaling;
        this.dropout = b.dropout;
        this.rotary = b.rotary;
        int kvInput = b.keyValueInputSize == 0 ? b.hiddenSize : b.keyValueInputSize;
        this.query = module(b.names[0], Linears.create(b.hiddenSize, numHeads * headDim, b.bias));
        this.key = module(b.names[1], Linears.create(kvInput, numKeyValueHeads * headDim, b.bias));
        this.value = module(b.names[2], Linears.create(kvInput, numKeyValueHeads * headDim, b.bias));
        this.output = module(b.names[3], Linears.create(numHeads * headDim, b.hiddenSize, b.bias));
        if (b.extraModuleName != null) {
            module(b.extraModuleName, b.extraModule);
        }
    }

    /** A builder; the defaults are Llama's names without bias, rotary or cross-attention. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Attends from {@code hidden} [B, T, hidden] to itself, or to {@code keyValueInput} [B, S, kv]
     * for cross-attention.
     *
     * @param store the parameter store
     * @param hidden the queries' input [B, T, hidden]
     * @param keyValueInput the keys' and values' input for cross-attention, or null
     * @param bias an additive score bias/mask broadcastable to [B, heads, T, S], or null
     * @param angles the rotary angles of the T new positions (needed iff built with rotary)
     * @param cache the KV cache, or null; self-attention appends to it, cross-attention fills it
     *     once and reuses it
     * @param layerIndex this layer's slot in {@code cache}
     * @param training whether this is a training pass
     * @return [B, T, hidden]
     */
    public NDArray forward(
            ParameterStore store,
            NDArray hidden,
            NDArray keyValueInput,
            NDArray bias,
            RotaryEmbedding.Angles angles,
            KvCache cache,
            int layerIndex,
            boolean training) {
        NDArray q = heads(Linears.run(query, store, hidden, training), numHeads);
        if (rotary != null) {
            q = RotaryEmbedding.apply(q, angles);
        }
        NDArray k;
        NDArray v;
        boolean cross = keyValueInput != null;
        if (cross && cache != null && cache.has(layerIndex)) {
            k = cache.keys(layerIndex);
            v = cache.values(layerIndex);
        } else {
            NDArray source = cross ? keyValueInput : hidden;
            k = heads(Linears.run(key, store, source, training), numKeyValueHeads);
            v = heads(Linears.run(value, store, source, training), numKeyValueHeads);
            if (rotary != null && !cross) {
                k = RotaryEmbedding.apply(k, angles);
            }
            if (cache != null && cross) {
                cache.store(layerIndex, k, v);
            } else if (cache != null) {
                NDArray[] full = cache.append(layerIndex, k, v);
                k = full[0];
                v = full[1];
            }
        }
        NDArray context = attend(q, k, v, bias, training);
        long batch = hidden.getShape().get(0);
        long length = hidden.getShape().get(1);
        NDArray merged = context.transpose(0, 2, 1, 3).reshape(batch, length, (long) numHeads * headDim);
        return Linears.run(output, store, merged, training);
    }

    /**
     * dropout(softmax(q k^T * scaling + bias)) v, with the softmax in float32 as HF's eager attention.
     * Arrays derived from cached keys and values would join the cache's manager, so they are moved
     * to the manager of this pass.
     */
    private NDArray attend(NDArray q, NDArray k, NDArray v, NDArray bias, boolean training) {
        NDManager pass = q.getManager();
        int groups = numHeads / numKeyValueHeads;
        // repeat along an axis is torch.repeat_interleave: kv head h serves query heads h*g .. h*g+g-1
        NDArray keys = groups == 1 ? k : PassArrays.own(k.repeat(1, groups), pass);
        NDArray values = groups == 1 ? v : PassArrays.own(v.repeat(1, groups), pass);
        NDArray scores = q.matMul(PassArrays.own(keys.transpose(0, 1, 3, 2), pass));
        if (scaling != 1f) {
            scores = Scalars.mul(scores, scaling);
        }
        if (bias != null) {
            scores = scores.add(bias);
        }
        DataType type = q.getDataType();
        NDArray probs =
                type == DataType.FLOAT32
                        ? scores.softmax(-1)
                        : scores.toType(DataType.FLOAT32, false).softmax(-1).toType(type, false);
        return Dropouts.apply(probs, dropout, training).matMul(values);
    }


    /** [B, T, n * head_dim] to [B, n, T, head_dim]. */
    private NDArray heads(NDArray x, int n) {
        long batch = x.getShape().get(0);
        long length = x.getShape().get(1);
        return x.reshape(batch, length, n, headDim).transpose(0, 2, 1, 3);
    }

    /** The query projection. */
    public LoraLinear getQuery() {
        return query;
    }

    /** The key projection. */
    public LoraLinear getKey() {
        return key;
    }

    /** The value projection. */
    public LoraLinear getValue() {
        return value;
    }

    /** The output projection. */
    public LoraLinear getOutput() {
        return output;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        if (rotary != null) {
            throw new UnsupportedOperationException(
                    "rotary attention needs position angles; call forward(store, hidden, ...)");
        }
        NDArray bias = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(store, inputs.get(0), null, bias, null, null, 0, training));
    }

    /** Builds an {@link Attention}. */
    public static final class Builder {
        private int hiddenSize;
        private int keyValueInputSize;
        private int numHeads;
        private int numKeyValueHeads;
        private int headDim;
        private boolean bias;
        private Float scaling;
        private float dropout;
        private RotaryEmbedding rotary;
        private String[] names = {"q_proj", "k_proj", "v_proj", "o_proj"};
        private String extraModuleName;
        private Block extraModule;

        private Builder() {}

        /** The model width: input of q, output of o. */
        public Builder setHiddenSize(int hiddenSize) {
            this.hiddenSize = hiddenSize;
            return this;
        }

        /** The number of query heads, and of key/value heads (fewer for grouped-query attention). */
        public Builder setHeads(int numHeads, int numKeyValueHeads) {
            this.numHeads = numHeads;
            this.numKeyValueHeads = numKeyValueHeads;
            return this;
        }

        /** The size of each head. */
        public Builder setHeadDim(int headDim) {
            this.headDim = headDim;
            return this;
        }

        /** The names of the q, k, v and output projections. */
        public Builder optNames(String q, String k, String v, String o) {
            this.names = new String[] {q, k, v, o};
            return this;
        }

        /** Gives all four projections a bias. */
        public Builder optBias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /**
         * Dropout on the attention probabilities in training passes (default 0; transformers'
         * {@code attention_dropout}, T5's {@code dropout_rate}).
         */
        public Builder optDropout(float dropout) {
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + dropout);
            }
            this.dropout = dropout;
            return this;
        }

        /** The score scaling; default 1 / sqrt(head_dim), T5 uses 1. */
        public Builder optScaling(float scaling) {
            this.scaling = scaling;
            return this;
        }

        /** Rotates q and k by these rotary embeddings. */
        public Builder optRotary(RotaryEmbedding rotary) {
            this.rotary = rotary;
            return this;
        }

        /** The width of a cross-attention input for k and v (default: the hidden size). */
        public Builder optKeyValueInputSize(int size) {
            this.keyValueInputSize = size;
            return this;
        }

        /**
         * Registers one more child under this attention module's path, after the projections,
         * for checkpoints that keep a position table there (T5's {@code
         * relative_attention_bias}). The attention does not run it; its owner computes the bias
         * and passes it to {@link Attention#forward}.
         */
        public Builder optExtraModule(String name, Block block) {
            this.extraModuleName = name;
            this.extraModule = block;
            return this;
        }

        /** Builds the block. */
        public Attention build() {
            if (hiddenSize < 1 || numHeads < 1 || numKeyValueHeads < 1 || headDim < 1) {
                throw new IllegalArgumentException("attention sizes must be positive");
            }
            if (numHeads % numKeyValueHeads != 0) {
                throw new IllegalArgumentException(
                        numHeads + " heads are not a multiple of " + numKeyValueHeads + " kv heads");
            }
            if (rotary != null && rotary.getHeadDim() != headDim) {
                throw new IllegalArgumentException("rotary head_dim differs from head_dim");
            }
            return new Attention(this);
        }
    }
}
