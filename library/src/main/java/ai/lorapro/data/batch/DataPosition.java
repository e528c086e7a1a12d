package ai.lorapro.data.batch;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

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

    /** The position as a JSON object {@code {"epoch":..,"index":..}}. */
    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("epoch", epoch);
        o.addProperty("index", index);
        return o.toString();
    }

    /**
     * Parses {@link #toJson()}'s form.
     *
     * @param json the JSON text
     * @param source the file the text came from, for the error message
     * @return the position
     * @throws InvalidInputException naming {@code source} when the text is not a valid position
     */
    public static DataPosition fromJson(String json, String source) {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            return new DataPosition(o.get("epoch").getAsInt(), o.get("index").getAsInt());
        } catch (RuntimeException e) {
            throw new InvalidInputException(source + ": invalid data position: " + json);
        }
    }
}
