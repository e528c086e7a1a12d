package ai.lorapro.io;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.stream.JsonReader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the small JSON files that sit beside checkpoints (indexes, adapter configs). */
final class JsonFiles {

    private JsonFiles() {}

    /**
     * The top-level object of a JSON file.
     *
     * @throws CheckpointFormatException naming the file if it cannot be read, is malformed or is
     *     not an object
     */
    static JsonObject readObject(Path file) {
        RegularFiles.requireRegularIfPresent(file);
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(file));
            if (!parsed.isJsonObject()) {
                throw new CheckpointFormatException(file + ": not a JSON object");
            }
            return parsed.getAsJsonObject();
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot read: " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new CheckpointFormatException(file + ": malformed JSON: " + firstLine(e.getMessage()), e);
        }
    }

    /**
     * The next value of {@code reader} as a tree, like {@link JsonParser#parseReader(JsonReader)}
     * but refusing a name repeated in one object (Gson keeps the last, silently, so that a file
     * could mean one thing to us and another to a tool that keeps the first).
     *
     * @throws JsonParseException naming the repeated name
     */
    static JsonElement readTreeWithoutDuplicates(JsonReader reader) throws IOException {
        switch (reader.peek()) {
            case BEGIN_OBJECT -> {
                JsonObject object = new JsonObject();
                reader.beginObject();
                while (reader.hasNext()) {
                    String name = reader.nextName();
                    if (object.has(name)) {
                        throw new JsonParseException("the name '" + name + "' appears twice in one object");
                    }
                    object.add(name, readTreeWithoutDuplicates(reader));
                }
                reader.endObject();
                return object;
            }
            case BEGIN_ARRAY -> {
                JsonArray array = new JsonArray();
                reader.beginArray();
                while (reader.hasNext()) {
                    array.add(readTreeWithoutDuplicates(reader));
                }
                reader.endArray();
                return array;
            }
            default -> {
                return JsonParser.parseReader(reader);
            }
        }
    }

    /** Gson appends a troubleshooting link on a second line; our messages are one line. */
    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
