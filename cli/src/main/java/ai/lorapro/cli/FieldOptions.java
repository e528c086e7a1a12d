package ai.lorapro.cli;

import java.util.Map;

/**
 * Options that set the fields of a settings record: a picocli mixin (or command) that knows the
 * flag of each field it sets, so that {@link FieldErrors} can restate a record's field error as a
 * flag error.
 */
interface FieldOptions {

    /**
     * The flag of each field these options set, by the field's name in errors and checkpoint files:
     * {@code micro_batch} to {@code --micro-batch}.
     */
    Map<String, String> flags();
}
