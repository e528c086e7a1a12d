package ai.lorapro.tasks;

import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;

import java.util.Arrays;

/**
 * Carries an encoder-decoder (source, target) pair through the causal-LM shaped {@link Example} and
 * {@link Batch} of the data pipeline, so that shuffling, batching and the training engine work
 * unchanged: the example's ids are the source tokens followed by the target tokens, and its labels
 * are {@link Example#IGNORE_INDEX} on the source and the target tokens on the target. {@link
 * #split} takes a batch apart again: the source is every real position before the first labelled
 * one, the target every labelled position. Source and target each end with the tokenizer's EOS
 * when it has one, as T5's tokenizer does.
 */
public final class Seq2SeqExamples {

    private final TextEncoder encoder;
    private final int maxSourceLength;
    private final int maxTargetLength;

    /**
     * An encoder of pairs.
     *
     * @param encoder the tokenizer; only its EOS is added
     * @param maxSourceLength the most source tokens (EOS included); longer sources are cut
     * @param maxTargetLength the most target tokens (EOS included); longer targets are cut
     */
    public Seq2SeqExamples(TextEncoder encoder, int maxSourceLength, int maxTargetLength) {
        if (maxSourceLength < 1 || maxTargetLength < 1) {
            throw new IllegalArgumentException("maximum lengths must be positive, got " + maxSourceLength
                    + " and " + maxTargetLength);
        }
        this.encoder = encoder;
        this.maxSourceLength = maxSourceLength;
        this.maxTargetLength = maxTargetLength;
    }

    /** The source tokens of {@code text}: cut to the maximum length, ending with EOS. */
    public long[] source(String text) {
        return withEos(encoder.encode(text), maxSourceLength);
    }

    /** The target tokens of {@code text}: cut to the maximum length, ending with EOS. */
    public long[] target(String text) {
        return withEos(encoder.encode(text), maxTargetLength);
    }

    /**
     * The example of one pair.
     *
     * @throws IllegalArgumentException if the source or the target has no token
     */
    public Example encode(String source, String target) {
        long[] src = source(source);
        long[] tgt = target(target);
        if (src.length == 0 || tgt.length == 0) {
            throw new IllegalArgumentException("source and target need at least one token each");
        }
        long[] ids = new long[src.length + tgt.length];
        long[] labels = new long[ids.length];
        System.arraycopy(src, 0, ids, 0, src.length);
        Arrays.fill(labels, 0, src.length, Example.IGNORE_INDEX);
        System.arraycopy(tgt, 0, ids, src.length, tgt.length);
        System.arraycopy(tgt, 0, labels, src.length, tgt.length);
        return new Example(ids, labels);
    }

    private long[] withEos(long[] ids, int max) {
        long eos = encoder.eosId();
        if (eos == TextEncoder.NONE) {
            return ids.length <= max ? ids : Arrays.copyOf(ids, max);
        }
        int keep = Math.min(ids.length, max - 1);
        long[] out = Arrays.copyOf(ids, keep + 1);
        out[keep] = eos;
        return out;
    }

    /**
     * Splits a batch of encoded pairs into encoder inputs and decoder labels, each right-padded.
     *
     * @param batch a batch of examples made by {@link #encode}
     * @param padId the id written into source padding
     * @return the split batch
     */
    public static Split split(Batch batch, long padId) {
        int rows = batch.batchSize();
        int seq = batch.seqLength();
        long[] ids = batch.inputIds();
        long[] mask = batch.attentionMask();
        long[] labels = batch.labels();
        int[] sourceLength = new int[rows];
        int[] targetLength = new int[rows];
        for (int b = 0; b < rows; b++) {
            int t = 0;
            while (t < seq && mask[b * seq + t] == 1 && labels[b * seq + t] == Example.IGNORE_INDEX) {
                t++;
            }
            sourceLength[b] = t;
            while (t < seq && labels[b * seq + t] != Example.IGNORE_INDEX) {
                t++;
            }
            targetLength[b] = t - sourceLength[b];
            if (sourceLength[b] == 0 || targetLength[b] == 0) {
                throw new IllegalArgumentException("row " + b + " is not a (source, target) pair");
            }
        }
        int maxSource = Arrays.stream(sourceLength).max().orElseThrow();
        int maxTarget = Arrays.stream(targetLength).max().orElseThrow();
        long[][] sourceIds = new long[rows][maxSource];
        long[][] sourceMask = new long[rows][maxSource];
        long[][] targetLabels = new long[rows][maxTarget];
        for (int b = 0; b < rows; b++) {
            Arrays.fill(sourceIds[b], padId);
            Arrays.fill(targetLabels[b], Example.IGNORE_INDEX);
            for (int t = 0; t < sourceLength[b]; t++) {
                sourceIds[b][t] = ids[b * seq + t];
                sourceMask[b][t] = 1;
            }
            for (int t = 0; t < targetLength[b]; t++) {
                targetLabels[b][t] = labels[b * seq + sourceLength[b] + t];
            }
        }
        return new Split(sourceIds, sourceMask, targetLabels);
    }

    /**
     * A batch split into its encoder and decoder parts.
     *
     * @param sourceIds encoder ids [B][S], right-padded
     * @param sourceMask 1 for source tokens, 0 for padding [B][S]
     * @param labels decoder labels [B][T], {@link Example#IGNORE_INDEX} on padding
     */
    public record Split(long[][] sourceIds, long[][] sourceMask, long[][] labels) {}
}
