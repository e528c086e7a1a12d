package ai.lorapro.data.jsonl;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;

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
        JsonElement element;
        try {
            // Strict: JSON lines written by other tools must be real JSON, not Gson's dialect.
            JsonReader reader = new JsonReader(new StringReader(json));
            reader.setStrictness(Strictness.STRICT);
            element = JsonParser.parseReader(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new JsonParseException("trailing characters after the JSON value");
            }
        } catch (JsonParseException | IOException e) {
            throw new InvalidInputException(file + ":" + line + ": malformed JSON: "
                    + firstLine(e.getMessage()));
        }
        if (!element.isJsonObject()) {
            throw new InvalidInputException(file + ":" + line + ": expected a JSON object");
        }
        JsonObject object = element.getAsJsonObject();
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

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
