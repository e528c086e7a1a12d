package ai.lorapro.demo;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.jsonl.TextEncoder;

/**
 * The demo's character-level tokenizer: PAD = 0, BOS = 1, EOS = 2, then one id per character of a
 * small fixed alphabet (digits, lower-case letters, space and a little punctuation).
 */
public final class CharTokenizer implements TextEncoder {

    /** The characters after the three special ids, in id order. */
    static final String ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz +-=?.,:";
    private static final int FIRST = 3;

    @Override
    public long[] encode(String text) {
        long[] ids = new long[text.length()];
        for (int i = 0; i < text.length(); i++) {
            int index = ALPHABET.indexOf(text.charAt(i));
            if (index < 0) {
                throw new InvalidInputException("demo tokenizer: character '" + text.charAt(i) + "' is not in its alphabet");
            }
            ids[i] = FIRST + index;
        }
        return ids;
    }

    /** The text of {@code ids}, special ids left out. */
    public String decode(long[] ids) {
        StringBuilder sb = new StringBuilder();
        for (long id : ids) {
            if (id >= FIRST && id < FIRST + ALPHABET.length()) {
                sb.append(ALPHABET.charAt((int) (id - FIRST)));
            }
        }
        return sb.toString();
    }

    /** The number of ids. */
    public int vocabSize() {
        return FIRST + ALPHABET.length();
    }

    @Override
    public long bosId() {
        return 1;
    }

    @Override
    public long eosId() {
        return 2;
    }

    @Override
    public long padId() {
        return 0;
    }
}
