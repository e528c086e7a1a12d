package ai.lorapro.train;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Reads a series back out of a {@link MetricsWriter} file, e.g. the loss curve for a plot. */
public final class MetricsLog {

    private MetricsLog() {}

    /**
     * The (step, value) pairs of every line that has {@code field}, in file order.
     *
     * @param file the metrics file
     * @param field the field, e.g. {@code loss} or {@code eval_loss}
     * @return the steps and values
     * @throws InvalidInputException naming file and line for a malformed line
     * @throws IOException when the file cannot be read
     */
    public static Series read(Path file, String field) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<Double> steps = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonObject object = parse(lines.get(i), file, i + 1);
            JsonElement value = object.get(field);
            JsonElement step = object.get("step");
            if (value != null && step != null) {
                steps.add(step.getAsDouble());
                values.add(value.getAsDouble());
            }
        }
        return new Series(toArray(steps), toArray(values));
    }

    /** The {@code step} of a metrics line, or empty when the line is blank, torn or has none. */
    static OptionalLong stepOf(String line) {
        if (line.isBlank()) {
            return OptionalLong.empty();
        }
        try {
            JsonElement step = parse(line, null, 0).get("step");
            return step != null && step.isJsonPrimitive() && step.getAsJsonPrimitive().isNumber()
                    ? OptionalLong.of(step.getAsLong()) : OptionalLong.empty();
        } catch (InvalidInputException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    private static JsonObject parse(String line, Path file, int number) {
        try {
            // Lenient so the NaN/Infinity tokens MetricsWriter may write parse back.
            JsonReader reader = new JsonReader(new StringReader(line));
            reader.setStrictness(Strictness.LENIENT);
            return JsonParser.parseReader(reader).getAsJsonObject();
        } catch (JsonParseException | IllegalStateException e) {
            throw new InvalidInputException(file + ":" + number + ": not a metrics line");
        }
    }

    private static double[] toArray(List<Double> list) {
        return list.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /**
     * One series of a metrics file.
     *
     * @param steps the x values
     * @param values the y values
     */
    public record Series(double[] steps, double[] values) {}
}
