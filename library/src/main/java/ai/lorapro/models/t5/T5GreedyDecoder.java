package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.models.common.KvCache;

import java.util.ArrayList;
import java.util.List;

/**
 * Greedy text-to-text decoding with T5, as transformers' {@code generate(do_sample=False)}: the
 * encoder runs once, the decoder starts from {@code decoder_start_token_id} and appends the
 * arg-max token until each row has produced {@code eos_token_id} or {@code maxNewTokens} tokens;
 * finished rows are fed the pad token. With the KV cache each step feeds only the newest token
 * (self-attention keys grow, cross-attention keys are computed once).
 */
public final class T5GreedyDecoder {

    private final int maxNewTokens;
    private final boolean useCache;

    /**
     * A decoder.
     *
     * @param maxNewTokens the most tokens to produce per row
     * @param useCache whether to keep keys and values (true) or recompute the prefix each step
     */
    public T5GreedyDecoder(int maxNewTokens, boolean useCache) {
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max_new_tokens must be positive, got " + maxNewTokens);
        }
        this.maxNewTokens = maxNewTokens;
        this.useCache = useCache;
    }

    /**
     * Decodes each input.
     *
     * @param model the model
     * @param manager the manager whose device runs the model; each step's arrays are freed
     * @param inputIds the encoder token ids of each row, right-padded to one length
     * @param attentionMask 1 for tokens and 0 for padding, same shape as {@code inputIds}
     * @return the generated tokens of each row, without the start token, up to and including its
     *     end-of-sequence token
     */
    public List<long[]> generate(
            T5ForConditionalGeneration model, NDManager manager, long[][] inputIds, long[][] attentionMask) {
        T5Config config = model.getConfig();
        int batch = inputIds.length;
        int sourceLength = inputIds[0].length;
        long[][] decoded = new long[batch][maxNewTokens + 1];
        for (long[] row : decoded) {
            row[0] = config.decoderStartTokenId();
        }
        int[] produced = new int[batch];
        boolean[] finished = new boolean[batch];
        ParameterStore store = new ParameterStore(manager, false);
        try (NDManager run = manager.newSubManager();
                KvCache cache = useCache ? new KvCache(manager, model.numCacheSlots()) : null) {
            NDArray ids = run.create(flatten(inputIds), new Shape(batch, sourceLength));
            NDArray mask = run.create(flatten(attentionMask), new Shape(batch, sourceLength));
            NDArray encoderHidden = model.encode(store, ids, mask, false);
            for (int step = 0; step < maxNewTokens; step++) {
                int from = cache != null ? step : 0;
                long[] next;
                try (NDManager stepManager = run.newSubManager()) {
                    NDArray decoderIds = stepManager.create(slice(decoded, from, step + 1), new Shape(batch, step + 1 - from));
                    // the mask is re-created per step so that the masks derived from it die with the step
                    NDArray stepMask = stepManager.create(flatten(attentionMask), new Shape(batch, sourceLength));
                    NDArray logits = model.decode(store, decoderIds, encoderHidden, stepMask, cache, false);
                    next = logits.get(new NDIndex(":, -1, :")).argMax(-1).toLongArray();
                }
                boolean allDone = true;
                for (int b = 0; b < batch; b++) {
                    long token = finished[b] ? config.padTokenId() : next[b];
                    decoded[b][step + 1] = token;
                    if (!finished[b]) {
                        produced[b]++;
                        finished[b] = token == config.eosTokenId();
                    }
                    allDone &= finished[b];
                }
                if (allDone) {
                    break;
                }
            }
        }
        List<long[]> out = new ArrayList<>();
        for (int b = 0; b < batch; b++) {
            long[] row = new long[produced[b]];
            System.arraycopy(decoded[b], 1, row, 0, produced[b]);
            out.add(row);
        }
        return out;
    }

    private static long[] flatten(long[][] rows) {
        return slice(rows, 0, rows[0].length);
    }

    private static long[] slice(long[][] rows, int from, int to) {
        long[] out = new long[rows.length * (to - from)];
        for (int b = 0; b < rows.length; b++) {
            if (rows[b].length != rows[0].length) {
                throw new IllegalArgumentException("rows must have one length");
            }
            System.arraycopy(rows[b], from, out, b * (to - from), to - from);
        }
        return out;
    }
}
