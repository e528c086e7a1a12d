package ai.lorapro.data.jsonl;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.RegularFiles;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Strict parsing of one JSON-lines record. JSON lines written by other tools must be real JSON,
 * not Gson's lenient dialect, and errors name {@code file:line}.
 */
public final class StrictJson {

    private static final Pattern AT_COLUMN = Pattern.compile("at line \\d+ column \\d+");

    private StrictJson() {}

    /**
     * The line (from 1) of a file's opening '[' when the file is a JSON array rather than JSON
     * lines (its first character after white space and a UTF-8 byte-order mark is '['), or 0 when
     * it is not. Read as bytes, so that a byte that is not UTF-8 further on is left to the line
     * reader, which names its line.
     *
     * @throws InvalidInputException if the file is missing, not a regular file or cannot be read
     */
    public static long jsonArrayLine(Path file) {
        RegularFiles.requireRegularIfPresent(file);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            int b = in.read();
            if (b == 0xEF) { // a UTF-8 byte-order mark: EF BB BF
                in.skip(2);
                b = in.read();
            }
            long line = 1;
            // lines end at \n, \r\n or a lone \r, as the line reader has them
            for (int previous = -1; b != -1; previous = b, b = in.read()) {
                if (b == '\r' || (b == '\n' && previous != '\r')) {
                    line++;
                } else if (b != ' ' && b != '\t' && b != '\n') {
                    return b == '[' ? line : 0;
                }
            }
            return 0;
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Parses {@code line}, the content of {@code file:lineNumber}, as one JSON object.
     *
     * @throws InvalidInputException naming {@code file:lineNumber} if it is not exactly one object
     */
    public static JsonObject parseObjectLine(String line, String file, long lineNumber) {
        JsonElement element;
        try {
            JsonReader reader = new JsonReader(new StringReader(line));
            reader.setStrictness(Strictness.STRICT);
            element = JsonParser.parseReader(reader);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new JsonParseException("trailing characters after the JSON value");
            }
        } catch (JsonParseException | IOException e) {
            throw new InvalidInputException(file + ":" + lineNumber + ": malformed JSON: " + describe(e.getMessage()));
        }
        if (!element.isJsonObject()) {
            throw new InvalidInputException(file + ":" + lineNumber + ": expected a JSON object");
        }
        return element.getAsJsonObject();
    }

    /** Gson's message without its exception-class prefix, advice and troubleshooting link. */
    public static String describe(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        String line = nl < 0 ? message : message.substring(0, nl);
        Matcher at = AT_COLUMN.matcher(line);
        if (line.contains("setStrictness") && at.find()) {
            return "syntax error " + at.group();
        }
        return line.replaceFirst("^[a-z.]+\\.[A-Za-z]+Exception: ", "");
    }
}
