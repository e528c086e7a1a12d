package ai.lorapro.tasks;

import static ai.lorapro.InvalidFieldException.require;

import java.util.Objects;

/**
 * How a task evaluation runs.
 *
 * @param batchSize inputs per generation or forward pass
 * @param maxNewTokens the most tokens generated per answer
 * @param maxInputLength the most prompt (or source) tokens kept
 * @param limit evaluate only the first {@code limit} records; 0 for all
 * @param skipBadRecords skip and count bad records instead of failing
 * @param modelId the model id written into MT-Bench answers and naming their file ({@code
 *     <out>/<modelId>.jsonl}): letters, digits, '.', '_', '-' and '+', not starting with '.'
 */
public record EvalSettings(int batchSize, int maxNewTokens, int maxInputLength, int limit, boolean skipBadRecords,
        String modelId) {

    /**
     * Checks the values.
     *
     * @throws ai.lorapro.InvalidFieldException naming the first invalid field
     */
    public EvalSettings {
        require(batchSize >= 1, "batch_size", "must be >= 1, got " + batchSize);
        require(maxNewTokens >= 1, "max_new_tokens", "must be >= 1, got " + maxNewTokens);
        require(maxInputLength >= 2, "max_input_length", "must be >= 2, got " + maxInputLength);
        require(limit >= 0, "limit", "must be >= 0 (0 for all), got " + limit);
        Objects.requireNonNull(modelId, "modelId");
        // it names a file in the output directory: no path ("../../data/train" replaced that file)
        require(modelId.matches("[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,199}"), "model_id",
                "must be a file name of letters, digits, '.', '_', '-' and '+' (not starting with '.'), got '"
                        + modelId + "'");
    }

    /** Batch 8, 256 new tokens, 1024 input tokens, every record, fail on bad records, model id "lorapro". */
    public static EvalSettings defaults() {
        return new EvalSettings(8, 256, 1024, 0, false, "lorapro");
    }

    /** These settings with another batch size. */
    public EvalSettings withBatchSize(int value) {
        return new EvalSettings(value, maxNewTokens, maxInputLength, limit, skipBadRecords, modelId);
    }

    /** These settings with another generation length. */
    public EvalSettings withMaxNewTokens(int value) {
        return new EvalSettings(batchSize, value, maxInputLength, limit, skipBadRecords, modelId);
    }

    /** These settings with another input length. */
    public EvalSettings withMaxInputLength(int value) {
        return new EvalSettings(batchSize, maxNewTokens, value, limit, skipBadRecords, modelId);
    }

    /** These settings with another record limit. */
    public EvalSettings withLimit(int value) {
        return new EvalSettings(batchSize, maxNewTokens, maxInputLength, value, skipBadRecords, modelId);
    }

    /** These settings skipping (true) or failing on bad records. */
    public EvalSettings withSkipBadRecords(boolean value) {
        return new EvalSettings(batchSize, maxNewTokens, maxInputLength, limit, value, modelId);
    }

    /** These settings with another MT-Bench model id. */
    public EvalSettings withModelId(String value) {
        return new EvalSettings(batchSize, maxNewTokens, maxInputLength, limit, skipBadRecords, value);
    }

    /** The first {@code limit} items of a list (all when the limit is 0). */
    public <T> java.util.List<T> limited(java.util.List<T> items) {
        return limit == 0 || items.size() <= limit ? items : items.subList(0, limit);
    }
}
