package ai.lorapro.data.jsonl;

/**
 * Turns text into token ids without adding special tokens; the dataset adds BOS and EOS itself
 * using {@link #bosId()} and {@link #eosId()}. A lambda gives an encoder without special tokens;
 * {@link #withSpecialTokens} adds them.
 */
@FunctionalInterface
public interface TextEncoder {

    /** Marks a special token the tokenizer does not have. */
    long NONE = -1;

    /**
     * The ids of {@code text}, without special tokens.
     *
     * @param text the text
     * @return the token ids
     */
    long[] encode(String text);

    /** The beginning-of-sequence id prepended to every example, or {@link #NONE}. */
    default long bosId() {
        return NONE;
    }

    /** The end-of-sequence id appended to every example, or {@link #NONE}. */
    default long eosId() {
        return NONE;
    }

    /** The padding id, or {@link #NONE} (then the EOS id, or 0, pads: padding is masked). */
    default long padId() {
        return NONE;
    }

    /** The id used for padding: the pad id, else the EOS id, else 0. */
    default long effectivePadId() {
        if (padId() != NONE) {
            return padId();
        }
        return eosId() != NONE ? eosId() : 0;
    }

    /**
     * An encoder with the given special tokens.
     *
     * @param encoder the text-to-ids function
     * @param bosId the BOS id or {@link #NONE}
     * @param eosId the EOS id or {@link #NONE}
     * @param padId the padding id or {@link #NONE}
     * @return the encoder
     */
    static TextEncoder withSpecialTokens(TextEncoder encoder, long bosId, long eosId, long padId) {
        return new TextEncoder() {
            @Override
            public long[] encode(String text) {
                return encoder.encode(text);
            }

            @Override
            public long bosId() {
                return bosId;
            }

            @Override
            public long eosId() {
                return eosId;
            }

            @Override
            public long padId() {
                return padId;
            }
        };
    }
}
