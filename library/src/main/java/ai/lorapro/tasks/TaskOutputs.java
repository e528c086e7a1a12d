package ai.lorapro.tasks;

import ai.lorapro.io.AtomicFiles;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes evaluation outputs atomically: JSON-lines files (predictions, HumanEval samples, MT-Bench
 * answers) and a pretty-printed metrics JSON object.
 */
public final class TaskOutputs {

    /** The metrics file every evaluation writes into its output directory. */
    public static final String METRICS_FILE = "metrics.json";

    /** Nulls written: a row has every field its task documents, null where there is no value. */
    private static final Gson LINES = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();
    private static final Gson PRETTY =
            new GsonBuilder().disableHtmlEscaping().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private TaskOutputs() {}

    /** Writes one compact JSON object per line. */
    public static void writeJsonLines(Path file, List<JsonObject> rows) {
        StringBuilder out = new StringBuilder();
        for (JsonObject row : rows) {
            out.append(LINES.toJson(row)).append('\n');
        }
        AtomicFiles.writeString(file, out.toString());
    }

    /** Writes {@code metrics} as one pretty-printed JSON object (insertion order kept). */
    public static void writeMetrics(Path file, Map<String, ?> metrics) {
        AtomicFiles.writeString(file, PRETTY.toJson(metrics) + "\n");
    }
}
