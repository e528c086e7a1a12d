package ai.lorapro.tasks;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

/**
 * One JSON object read from a file, with field accessors whose errors name the file, the line
 * (or the element of a JSON array) and the field.
 *
 * @param object the parsed object
 * @param location {@code file:line} of a JSON-lines record, {@code file: element N} of an array
 *     element: the prefix of every error about this record
 * @param line the 1-based line of a JSON-lines record, or the 1-based element number
 */
public record JsonRecord(JsonObject object, String location, long line) {

    /** Whether the field is present and not null. */
    public boolean has(String field) {
        JsonElement value = object.get(field);
        return value != null && !value.isJsonNull();
    }

    /**
     * A string field.
     *
     * @throws InvalidInputException if it is missing or not a string
     */
    public String string(String field) {
        JsonElement value = required(field);
        if (!value.isJsonPrimitive() || !((JsonPrimitive) value).isString()) {
            throw error("field \"" + field + "\" must be a string");
        }
        return value.getAsString();
    }

    /**
     * A string or number field as text (ids and labels come as either).
     *
     * @throws InvalidInputException if it is missing or neither a string nor a number
     */
    public String scalar(String field) {
        JsonElement value = required(field);
        if (!value.isJsonPrimitive() || ((JsonPrimitive) value).isBoolean()) {
            throw error("field \"" + field + "\" must be a string or a number");
        }
        return value.getAsString();
    }

    /**
     * An array field.
     *
     * @throws InvalidInputException if it is missing or not an array
     */
    public JsonArray array(String field) {
        JsonElement value = required(field);
        if (!value.isJsonArray()) {
            throw error("field \"" + field + "\" must be an array");
        }
        return value.getAsJsonArray();
    }

    /** An error about this record: {@code file:line: message}. */
    public InvalidInputException error(String message) {
        return new InvalidInputException(location() + ": " + message);
    }

    private JsonElement required(String field) {
        if (!has(field)) {
            throw error("missing field \"" + field + "\"");
        }
        return object.get(field);
    }
}
