package ai.lorapro.data.batch;

/**
 * Where a run is in its data: the epoch and the index, within that epoch's shuffled order, of the
 * next example to read. Saved with a checkpoint so a resumed run sees exactly the same batches.
 *
 * @param epoch the 0-based epoch
 * @param index the 0-based index of the next example in the epoch's order
 */
public record DataPosition(int epoch, int index) {

    /** The start of the first epoch. */
    public static final DataPosition START = new DataPosition(0, 0);

    /** Validates the fields. */
    public DataPosition {
        if (epoch < 0 || index < 0) {
            throw new IllegalArgumentException(
                    "data position must be non-negative, got epoch " + epoch + " index " + index);
        }
    }
}
