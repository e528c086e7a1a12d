package ai.lorapro.models.common;

import ai.lorapro.InvalidFieldException;

/**
 * A model configuration value that the configuration itself refuses (a size below 1, heads that do
 * not divide the width, a token id outside the vocabulary). A configuration read from a file is
 * checked inside {@link ConfigJson#build}, which rethrows this error naming the file and the dotted
 * field; built in code, it names the field alone.
 */
public final class ConfigFieldException extends InvalidFieldException {

    private static final long serialVersionUID = 1L;

    /**
     * @param field the {@code config.json} key, e.g. {@code num_key_value_heads}
     * @param detail what is wrong with it, e.g. {@code must be positive, got 0}
     */
    public ConfigFieldException(String field, String detail) {
        super(field, detail, "field '" + field + "' " + detail);
    }

    /**
     * Checks a size: at least 1.
     *
     * @return {@code value}
     * @throws ConfigFieldException naming {@code field} otherwise
     */
    public static int requirePositive(String field, int value) {
        if (value < 1) {
            throw new ConfigFieldException(field, "must be positive, got " + value);
        }
        return value;
    }

    /** The most layers a config may declare: several times the deepest published model's (about 130). */
    public static final int MAX_LAYERS = 1024;

    /**
     * Checks a layer count: 1 to {@link #MAX_LAYERS}. A model's blocks are built from its config
     * before its checkpoint is read, so a count of millions would take minutes and gigabytes
     * before any tensor could say it is wrong.
     *
     * @return {@code value}
     * @throws ConfigFieldException naming {@code field} otherwise
     */
    public static int requireLayerCount(String field, int value) {
        requirePositive(field, value);
        if (value > MAX_LAYERS) {
            throw new ConfigFieldException(field, "must be at most " + MAX_LAYERS + ", got " + value);
        }
        return value;
    }

    /**
     * Checks a scale or epsilon: greater than 0 (and not NaN).
     *
     * @return {@code value}
     * @throws ConfigFieldException naming {@code field} otherwise
     */
    public static double requirePositive(String field, double value) {
        if (!(value > 0)) {
            throw new ConfigFieldException(field, "must be positive, got " + value);
        }
        return value;
    }

    /**
     * Checks a dropout probability: in [0, 1) (1 would drop everything; NaN is refused).
     *
     * @return {@code value}
     * @throws ConfigFieldException naming {@code field} otherwise
     */
    public static float requireDropout(String field, float value) {
        if (!(value >= 0 && value < 1)) {
            throw new ConfigFieldException(field, "must be in [0, 1), got " + value);
        }
        return value;
    }

    /**
     * Checks a special token id: absent (null), or in {@code [0, vocabSize)}.
     *
     * @throws ConfigFieldException naming {@code field}, the id and the vocabulary otherwise
     */
    public static void requireTokenId(String field, Integer id, int vocabSize) {
        if (id != null && (id < 0 || id >= vocabSize)) {
            throw new ConfigFieldException(field, id + " is outside the vocabulary 0.." + (vocabSize - 1)
                    + " (vocab_size " + vocabSize + ")");
        }
    }
}
