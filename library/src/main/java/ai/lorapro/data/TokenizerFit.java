package ai.lorapro.data;

import ai.lorapro.InvalidInputException;

/**
 * Checks that a tokenizer belongs to a model before any text is encoded: every id it can produce
 * must have an embedding row (its vocabulary fits {@code vocab_size}), and so must the padding id
 * it names (which padded batches are filled with).
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
        tokenizer.padId().ifPresent(pad -> {
            if (pad < 0 || pad >= vocabSize) {
                throw new InvalidInputException("tokenizer " + tokenizer.path() + ": padding.pad_id " + pad
                        + " is outside the model's vocab_size " + vocabSize);
            }
        });
    }
}
