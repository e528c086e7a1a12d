package ai.lorapro.data.jsonl;

import ai.lorapro.data.batch.Example;

import java.util.Arrays;

/**
 * Tokenises a {@link TextRecord} into an {@link Example}: {@code [BOS] prompt response [EOS]} with
 * labels {@link Example#IGNORE_INDEX} on BOS and the prompt (the whole sequence is labelled for a
 * text record), truncated to the first {@code maxLength} tokens. Prompt and response are encoded
 * separately so the boundary between them is exact.
 */
public final class ExampleEncoder {

    private final TextEncoder encoder;
    private final int maxLength;
    private boolean lastTruncated;

    /**
     * An encoder.
     *
     * @param encoder the tokenizer with its special tokens
     * @param maxLength examples are cut to their first {@code maxLength} tokens
     */
    public ExampleEncoder(TextEncoder encoder, int maxLength) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("max length must be >= 1, got " + maxLength);
        }
        this.encoder = encoder;
        this.maxLength = maxLength;
    }

    /** The example, or {@code null} when nothing is left to learn from after truncation. */
    public Example encode(TextRecord record) {
        long[] prompt = record.hasPrompt() ? encoder.encode(record.prompt()) : new long[0];
        long[] completion = encoder.encode(record.completion());
        boolean bos = encoder.bosId() != TextEncoder.NONE;
        boolean eos = encoder.eosId() != TextEncoder.NONE;
        int full = (bos ? 1 : 0) + prompt.length + completion.length + (eos ? 1 : 0);
        long[] ids = new long[full];
        long[] labels = new long[full];
        int k = 0;
        if (bos) {
            ids[k] = encoder.bosId();
            labels[k++] = record.hasPrompt() ? Example.IGNORE_INDEX : encoder.bosId();
        }
        for (long id : prompt) {
            ids[k] = id;
            labels[k++] = Example.IGNORE_INDEX;
        }
        for (long id : completion) {
            ids[k] = id;
            labels[k++] = id;
        }
        if (eos) {
            ids[k] = encoder.eosId();
            labels[k] = encoder.eosId();
        }
        int length = Math.min(full, maxLength);
        lastTruncated = full > maxLength;
        // The causal-LM loss predicts label t from positions before t: a label at position 0
        // teaches nothing, so an example needs a supervised label after the first position.
        for (int t = 1; t < length; t++) {
            if (labels[t] != Example.IGNORE_INDEX) {
                return new Example(Arrays.copyOf(ids, length), Arrays.copyOf(labels, length));
            }
        }
        return null;
    }

    /** Whether the last record encoded was longer than the maximum length. */
    public boolean wasTruncated() {
        return lastTruncated;
    }
}
