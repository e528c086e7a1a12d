package ai.lorapro.tasks;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.TextLines;
import ai.lorapro.data.jsonl.StrictJson;

import com.google.gson.JsonElement;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a JSON-lines file record by record: each non-blank line is one JSON object, turned into a
 * task record by a parser. A malformed line, or one the parser rejects, goes to the {@link
 * BadRecords} policy. A file whose first non-blank character is {@code [} is read as one JSON
 * array of objects instead (the form MetaMathQA and WizardLM are published in); its records are
 * named by element number, and a syntax error in the array always fails (the rest of the array
 * cannot be found).
 */
public final class JsonLines {

    private JsonLines() {}

    /** Turns one JSON object into a task record. */
    @FunctionalInterface
    public interface Parser<T> {
        /**
         * The record of {@code json}.
         *
         * @throws InvalidInputException naming the file, line and field when the object is unusable
         */
        T parse(JsonRecord json);
    }

    /**
     * Reads every record of {@code file}.
     *
     * @param file the JSON-lines file
     * @param parser turns each object into a record
     * @param bad fail or skip on a bad line
     * @return the records and the count of skipped lines
     * @throws InvalidInputException if the file cannot be read, or for a bad line unless skipping
     */
    public static <T> Records<T> read(Path file, Parser<T> parser, BadRecords bad) {
        if (StrictJson.jsonArrayLine(file) > 0) {
            return readArray(file, parser, bad);
        }
        List<T> records = new ArrayList<>();
        int skippedBefore = bad.skipped();
        try (TextLines lines = TextLines.open(file)) {
            for (String line; (line = lines.next(bad::handle)) != null; ) {
                if (line.isBlank()) {
                    continue;
                }
                try {
                    records.add(parser.parse(parseObject(line, file.toString(), lines.number())));
                } catch (InvalidInputException e) {
                    bad.handle(e);
                }
            }
        }
        return new Records<>(records, bad.skipped() - skippedBefore);
    }

    /** Whether nothing but white space follows (a strict reader calls a second value a syntax error). */
    private static boolean atEnd(JsonReader reader) {
        try {
            return reader.peek() == JsonToken.END_DOCUMENT;
        } catch (IOException | IllegalStateException e) {
            return false;
        }
    }

    private static <T> Records<T> readArray(Path file, Parser<T> parser, BadRecords bad) {
        List<T> records = new ArrayList<>();
        int skippedBefore = bad.skipped();
        long element = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
                JsonReader reader = new JsonReader(in)) {
            reader.setStrictness(Strictness.STRICT);
            reader.beginArray();
            while (reader.hasNext()) {
                element++;
                JsonElement value = JsonParser.parseReader(reader);
                String location = file + ": element " + element;
                try {
                    if (!value.isJsonObject()) {
                        throw new InvalidInputException(location + ": expected a JSON object");
                    }
                    records.add(parser.parse(new JsonRecord(value.getAsJsonObject(), location, element)));
                } catch (InvalidInputException e) {
                    bad.handle(e);
                }
            }
            reader.endArray();
            if (!atEnd(reader)) {
                // a second array or a stray line after the first: the records there were dropped silently
                throw new InvalidInputException(file + ": more after the JSON array's closing ']' (one array of"
                        + " records per file)");
            }
        } catch (JsonParseException | IOException | IllegalStateException e) {
            throw new InvalidInputException(file + ": malformed JSON array after element " + element + ": "
                    + StrictJson.describe(e.getMessage()));
        }
        return new Records<>(records, bad.skipped() - skippedBefore);
    }

    /**
     * Parses one line as a strict JSON object.
     *
     * @throws InvalidInputException naming {@code file:line} if it is not one
     */
    public static JsonRecord parseObject(String line, String file, long lineNumber) {
        return new JsonRecord(StrictJson.parseObjectLine(line, file, lineNumber), file + ":" + lineNumber, lineNumber);
    }
}
