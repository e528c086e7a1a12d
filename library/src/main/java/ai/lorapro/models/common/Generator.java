package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Autoregressive decoding of a batch of left-padded prompts: greedy, or sampling with temperature
 * and top-p, each row stopping at an end-of-sequence token, all rows at {@code maxNewTokens}.
 *
 * <p>As in transformers' {@code generate}, positions come from the attention mask (cumsum - 1),
 * so a left-padded row yields the same tokens as the same prompt alone; finished rows are fed the
 * pad token. With the KV cache each step feeds only the newest token.
 */
public final class Generator {

    private final int maxNewTokens;
    private final boolean sample;
    private final double temperature;
    private final double topP;
    private final Set<Long> eosTokenIds;
    private final long padTokenId;
    private final boolean useCache;
    private final long seed;

    private Generator(Builder b) {
        this.maxNewTokens = b.maxNewTokens;
        this.sample = b.sample;
        this.temperature = b.temperature;
        this.topP = b.topP;
        this.eosTokenIds = Set.copyOf(b.eosTokenIds);
        this.padTokenId = b.padTokenId;
        this.useCache = b.useCache;
        this.seed = b.seed;
    }

    /** The ids that end a sequence. */
    public Set<Long> eosTokenIds() {
        return eosTokenIds;
    }

    /** The id a finished sequence is filled with (and a batch's shorter prompts padded with). */
    public long padTokenId() {
        return padTokenId;
    }

    /** A builder: greedy, 32 new tokens, KV cache on, no end-of-sequence token, pad id 0. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Continues each prompt.
     *
     * @param model the language model
     * @param manager the manager whose device runs the model; per-step arrays live on a
     *     sub-manager that is closed after each step
     * @param prompts the token ids of each prompt, left-padded: {@code attentionMask} marks the
     *     real tokens
     * @param attentionMask 1 for tokens and 0 for (left) padding, same shape as {@code prompts}
     * @return the new tokens of each row, up to and including its end-of-sequence token
     */
    public List<long[]> generate(
            CausalLanguageModel model, NDManager manager, long[][] prompts, long[][] attentionMask) {
        int batch = prompts.length;
        int promptLength = prompts[0].length;
        if ((long) promptLength + maxNewTokens > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException(maxNewTokens + " new tokens after a prompt of " + promptLength
                    + " are more than one sequence can hold");
        }
        int total = promptLength + maxNewTokens;
        long[][] tokens = new long[batch][total];
        long[][] mask = new long[batch][total];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(prompts[b], 0, tokens[b], 0, promptLength);
            System.arraycopy(attentionMask[b], 0, mask[b], 0, promptLength);
        }
        List<List<Long>> generated = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            generated.add(new ArrayList<>());
        }
        boolean[] finished = new boolean[batch];
        SplittableRandom rng = new SplittableRandom(seed);
        ParameterStore store = new ParameterStore(manager, false);
        try (KvCache cache = useCache ? new KvCache(manager, model.numCacheLayers()) : null) {
            int length = promptLength;
            for (int step = 0; step < maxNewTokens; step++) {
                int from = cache != null && step > 0 ? length - 1 : 0;
                float[][] next = lastLogits(model, manager, store, tokens, mask, from, length, cache);
                boolean allDone = true;
                for (int b = 0; b < batch; b++) {
                    long token = finished[b] ? padTokenId : choose(next[b], rng);
                    tokens[b][length] = token;
                    mask[b][length] = 1;
                    if (!finished[b]) {
                        generated.get(b).add(token);
                        finished[b] = eosTokenIds.contains(token);
                    }
                    allDone &= finished[b];
                }
                length++;
                if (allDone) {
                    break;
                }
            }
        }
        List<long[]> out = new ArrayList<>();
        for (List<Long> row : generated) {
            out.add(row.stream().mapToLong(Long::longValue).toArray());
        }
        return out;
    }

    /** The logits of position length - 1 of each row, feeding positions [from, length). */
    private static float[][] lastLogits(
            CausalLanguageModel model,
            NDManager manager,
            ParameterStore store,
            long[][] tokens,
            long[][] mask,
            int from,
            int length,
            KvCache cache) {
        int batch = tokens.length;
        try (NDManager step = manager.newSubManager()) {
            NDArray ids = step.create(slice(tokens, from, length), new Shape(batch, length - from));
            NDArray attention = step.create(slice(mask, 0, length), new Shape(batch, length));
            NDArray positions = step.create(slice(positionIds(mask, length), from, length), new Shape(batch, length - from));
            NDArray logits = model.logits(store, ids, attention, positions, cache, false);
            long vocab = logits.getShape().get(2);
            float[] last = logits.get(new NDIndex(":, -1, :")).toFloatArray();
            float[][] rows = new float[batch][];
            for (int b = 0; b < batch; b++) {
                rows[b] = Arrays.copyOfRange(last, (int) (b * vocab), (int) ((b + 1) * vocab));
            }
            return rows;
        }
    }

    /** HF's positions for a padded batch: cumsum(mask) - 1, and 1 at padding. */
    static long[][] positionIds(long[][] mask, int length) {
        long[][] out = new long[mask.length][length];
        for (int b = 0; b < mask.length; b++) {
            long seen = 0;
            for (int t = 0; t < length; t++) {
                seen += mask[b][t];
                out[b][t] = mask[b][t] == 0 ? 1 : seen - 1;
            }
        }
        return out;
    }

    private static long[] slice(long[][] rows, int from, int to) {
        long[] out = new long[rows.length * (to - from)];
        for (int b = 0; b < rows.length; b++) {
            System.arraycopy(rows[b], from, out, b * (to - from), to - from);
        }
        return out;
    }

    private long choose(float[] logits, SplittableRandom rng) {
        return sample ? TokenSampling.topP(logits, temperature, topP, rng) : TokenSampling.argmax(logits);
    }

    /** Builds a {@link Generator}. */
    public static final class Builder {
        private int maxNewTokens = 32;
        private boolean sample;
        private double temperature = 1.0;
        private double topP = 1.0;
        private Set<Long> eosTokenIds = Set.of();
        private long padTokenId;
        private boolean useCache = true;
        private long seed = 42;

        private Builder() {}

        /** The most tokens to add to each row. */
        public Builder optMaxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /** Samples with this temperature and nucleus (top-p) instead of decoding greedily. */
        public Builder optSampling(double temperature, double topP, long seed) {
            this.sample = true;
            this.temperature = temperature;
            this.topP = topP;
            this.seed = seed;
            return this;
        }

        /** The tokens that end a row. */
        public Builder optEosTokenIds(Set<Long> ids) {
            this.eosTokenIds = Set.copyOf(ids);
            return this;
        }

        /** The token fed to rows that have finished. */
        public Builder optPadTokenId(long id) {
            this.padTokenId = id;
            return this;
        }

        /** Whether to keep keys and values (default) or recompute the whole sequence each step. */
        public Builder optUseCache(boolean useCache) {
            this.useCache = useCache;
            return this;
        }

        /** Builds the generator. */
        public Generator build() {
            if (maxNewTokens < 1) {
                throw new IllegalArgumentException("max_new_tokens must be positive, got " + maxNewTokens);
            }
            if (sample && !(temperature > 0)) {
                throw new IllegalArgumentException("temperature must be positive, got " + temperature);
            }
            if (sample && !(topP > 0 && topP <= 1)) {
                throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
            }
            return new Generator(this);
        }
    }
}
