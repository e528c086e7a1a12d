package ai.lorapro.tasks;

import java.util.List;

/**
 * The records a task reader produced from one file, in file order, and how many bad records it
 * skipped on the way.
 *
 * @param records the records
 * @param skipped bad records skipped (always 0 when failing on bad records)
 * @param <T> the record type
 */
public record Records<T>(List<T> records, int skipped) {

    /** Copies the list. */
    public Records {
        records = List.copyOf(records);
    }

    /** The number of records. */
    public int size() {
        return records.size();
    }
}
