package ai.lorapro.data;

import ai.lorapro.InvalidInputException;

/**
 * Checks that a tokenizer belongs to a model before any text is encoded: every id it can produce
 * must have an embedding row (its vocabulary fits {@code vocab_size}).
 */
public final class TokenizerFit {

    private TokenizerFit() {}

    /**
     * Refuses a tokenizer that can produce ids the model has no embedding row for.
     *
     * @param tokenizer the tokenizer
     * @param vocabSize the model's {@code vocab_size}
     * @throws InvalidInputException naming the tokenizer file and both sizes
     */
    public static void require(HfTokenizer tokenizer, long vocabSize) {
        if (tokenizer.vocabSize() > vocabSize) {
            throw new InvalidInputException("tokenizer " + tokenizer.path() + " has " + tokenizer.vocabSize()
                    + " ids but the model's vocab_size is " + vocabSize + ": they do not belong together");
        }
    }
}
