package ai.lorapro.data.batch;

import ai.lorapro.InvalidInputException;

import java.util.Arrays;

/**
 * One tokenised training example: the token ids and, position for position, the labels the loss is
 * computed on. Labels are not shifted (the causal-LM loss shifts them, as in Hugging Face);
 * {@link #IGNORE_INDEX} marks positions without loss.
 */
public final class Example {

    /** The label of a position that does not count in the loss (PyTorch's ignore_index). */
    public static final long IGNORE_INDEX = -100;

    private final long[] inputIds;
    private final long[] labels;

    /**
     * An example; the arrays are copied.
     *
     * @param inputIds the token ids, at least one
     * @param labels the labels, as many as ids
     */
    public Example(long[] inputIds, long[] labels) {
        if (inputIds.length == 0 || inputIds.length != labels.length) {
            throw new IllegalArgumentException("need as many labels as ids (and at least one), got "
                    + inputIds.length + " ids and " + labels.length + " labels");
        }
        this.inputIds = inputIds.clone();
        this.labels = labels.clone();
    }

    /** The number of tokens. */
    public int length() {
        return inputIds.length;
    }

    /** A copy of the token ids. */
    public long[] inputIds() {
        return inputIds.clone();
    }

    /** A copy of the labels. */
    public long[] labels() {
        return labels.clone();
    }

    /** The id at {@code position}. */
    public long inputId(int position) {
        return inputIds[position];
    }

    /** The label at {@code position}. */
    public long label(int position) {
        return labels[position];
    }

    /**
     * Refuses an id or a label that a model of {@code vocabSize} tokens cannot take: every id must
     * be in [0, vocabSize), every label too or {@link #IGNORE_INDEX}.
     *
     * @throws InvalidInputException naming the value and its position
     */
    public void requireInVocabulary(int vocabSize) {
        for (int p = 0; p < inputIds.length; p++) {
            if (inputIds[p] < 0 || inputIds[p] >= vocabSize) {
                throw new InvalidInputException("token id " + inputIds[p] + " at position " + p + " is outside the"
                        + " vocabulary 0.." + (vocabSize - 1) + " (vocab_size " + vocabSize + ")");
            }
            if (labels[p] != IGNORE_INDEX && (labels[p] < 0 || labels[p] >= vocabSize)) {
                throw new InvalidInputException("label " + labels[p] + " at position " + p + " is neither a token id"
                        + " in 0.." + (vocabSize - 1) + " (vocab_size " + vocabSize + ") nor " + IGNORE_INDEX
                        + " (not scored)");
            }
        }
    }

    /** The number of positions whose label counts in the loss. */
    public int supervisedTokens() {
        int n = 0;
        for (long label : labels) {
            if (label != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Example e
                && Arrays.equals(inputIds, e.inputIds)
                && Arrays.equals(labels, e.labels);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(inputIds) + Arrays.hashCode(labels);
    }

    @Override
    public String toString() {
        return "Example{inputIds=" + Arrays.toString(inputIds) + ", labels="
                + Arrays.toString(labels) + "}";
    }
}
