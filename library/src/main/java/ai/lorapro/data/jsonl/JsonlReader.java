package ai.lorapro.data.jsonl;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;


/**
 * Parses one JSON-lines record into a {@link TextRecord}. A record with {@code "prompt"} or {@code
 * "response"} needs both; any other record needs {@code "text"}. Fields must be strings; other
 * fields are ignored.
 */
final class JsonlReader {

    private JsonlReader() {}

    /**
     * Parses {@code json}, the content of {@code file:line}.
     *
     * @throws InvalidInputException naming file, line and, when one is missing, the field
     */
    static TextRecord parse(String json, String file, long line) {
        JsonObject object = StrictJson.parseObjectLine(json, file, line);
        if (object.has("prompt") || object.has("response")) {
            String prompt = stringField(object, "prompt", file, line);
            String response = stringField(object, "response", file, line);
            return TextRecord.promptResponse(prompt, response, line);
        }
        if (!object.has("text")) {
            throw new InvalidInputException(file + ":" + line
                    + ": missing field \"text\" (or \"prompt\" and \"response\")");
        }
        return TextRecord.text(stringField(object, "text", file, line), line);
    }

    private static String stringField(JsonObject object, String field, String file, long line) {
        JsonElement value = object.get(field);
        if (value == null || value.isJsonNull()) {
            throw new InvalidInputException(
                    file + ":" + line + ": missing field \"" + field + "\"");
        }
        if (!value.isJsonPrimitive() || !((JsonPrimitive) value).isString()) {
            throw new InvalidInputException(
                    file + ":" + line + ": field \"" + field + "\" must be a string");
        }
        return value.getAsString();
    }
}
