package ai.lorapro.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

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

    /** Gson appends a troubleshooting link on a second line; our messages are one line. */
    static String firstLine(String message) {
        if (message == null) {
            return "";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
