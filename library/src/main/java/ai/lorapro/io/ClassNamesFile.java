package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@value #FILE_NAME}: the class of each output row of a trained classifier, a JSON array of
 * strings, written beside its weights (a full checkpoint's {@code model.safetensors}, or an
 * adapter's files) by {@link ai.lorapro.nn.HasClassNames} models.
 */
public final class ClassNamesFile {

    /** The file name. */
    public static final String FILE_NAME = "class_names.json";

    private ClassNamesFile() {}

    /** Writes {@code names} into {@code dir}. */
    public static void write(Path dir, List<String> names) throws IOException {
        JsonArray array = new JsonArray();
        names.forEach(array::add);
        Files.writeString(dir.resolve(FILE_NAME), array + "\n", StandardCharsets.UTF_8);
    }

    /**
     * The names in {@code dir}, or empty when it holds no {@value #FILE_NAME} (weights written
     * before there was one, or by another tool).
     *
     * @throws InvalidInputException naming the file if it is not a JSON array of strings
     */
    public static Optional<List<String>> read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            JsonElement json = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!json.isJsonArray()) {
                throw new InvalidInputException(file + ": expected a JSON array of class names");
            }
            List<String> names = new ArrayList<>();
            for (JsonElement e : json.getAsJsonArray()) {
                if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                    throw new InvalidInputException(file + ": expected a JSON array of class names, found " + e);
                }
                names.add(e.getAsString());
            }
            return Optional.of(names);
        } catch (IOException | JsonParseException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }
}
