package ai.lorapro.train;

import ai.lorapro.io.AtomicFiles;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/**
 * Writes training metrics as JSON lines, one object per call, flushed at once so a crash loses
 * nothing already logged. Training lines hold {@code step, epoch, loss, lr, grad_norm,
 * tokens_per_s, step_s, optimizer_s}; evaluation lines hold {@code step} and {@code eval_<name>} fields. Every line is
 * strict JSON: a NaN or infinite value (a skipped step's loss or norm) is written as the string
 * {@code "NaN"}, {@code "Infinity"} or {@code "-Infinity"}, never as a bare token.
 */
public final class MetricsWriter implements Closeable {

    private final Gson gson = new GsonBuilder().serializeSpecialFloatingPointValues().create();
    private final BufferedWriter out;

    private MetricsWriter(BufferedWriter out) {
        this.out = out;
    }

    /**
     * Opens {@code file}, creating its parent directories.
     *
     * @param file the metrics file
     * @param append keep existing lines (a resumed run) instead of starting over
     * @return the writer
     * @throws IOException when the file cannot be opened
     */
    public static MetricsWriter open(Path file, boolean append) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        BufferedWriter out = append
                ? Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND)
                : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        return new MetricsWriter(out);
    }

    /**
     * Opens {@code file} to continue a run whose last completed step is {@code step} (0: a new
     * run, which starts the file over). Lines of later steps, which a run killed after its last
     * checkpoint wrote, and a torn last line are dropped first (the file is rewritten
     * atomically), so that after a resume every step appears once.
     *
     * @param file the metrics file
     * @param step the step the run continues after
     * @return the writer, appending
     * @throws IOException when the file cannot be read or opened
     */
    public static MetricsWriter openAfter(Path file, long step) throws IOException {
        if (step > 0 && Files.isRegularFile(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            List<String> kept = new ArrayList<>();
            for (String line : lines) {
                OptionalLong lineStep = MetricsLog.stepOf(line);
                if (lineStep.isPresent() && lineStep.getAsLong() <= step) {
                    kept.add(line);
                }
            }
            if (kept.size() != lines.size()) {
                AtomicFiles.writeString(file, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
            }
        }
        return open(file, step > 0);
    }

    /**
     * Writes one training line.
     *
     * @param step the optimizer step just completed (1-based)
     * @param epoch fractional epochs done
     * @param loss the step's mean loss
     * @param lr the learning rate the step used
     * @param gradNorm the global gradient norm before clipping
     * @param tokensPerSecond real tokens processed per second
     * @param stepSeconds the step's wall time: taking its batches, the passes and the update
     * @param optimizerSeconds the part of it spent unscaling and clipping the gradients, updating
     *     the weights, copying them to other devices' replicas and zeroing the gradients (what
     *     LoRA-Pro's optimizer adds to LoRA's shows here)
     */
    public void writeTrain(long step, double epoch, double loss, double lr, double gradNorm,
            double tokensPerSecond, double stepSeconds, double optimizerSeconds) {
        JsonObject line = new JsonObject();
        line.addProperty("step", step);
        line.addProperty("epoch", epoch);
        line.addProperty("loss", loss);
        line.addProperty("lr", lr);
        line.addProperty("grad_norm", gradNorm);
        line.addProperty("tokens_per_s", tokensPerSecond);
        line.addProperty("step_s", stepSeconds);
        line.addProperty("optimizer_s", optimizerSeconds);
        write(line);
    }

    /**
     * Writes one evaluation line, each metric prefixed with {@code eval_}.
     *
     * @param step the optimizer step the evaluation followed
     * @param metrics the metrics by name, e.g. {@code loss}, {@code perplexity}
     */
    public void writeEval(long step, Map<String, Double> metrics) {
        JsonObject line = new JsonObject();
        line.addProperty("step", step);
        metrics.forEach((name, value) -> line.addProperty("eval_" + name, value));
        write(line);
    }

    private void write(JsonObject line) {
        for (Map.Entry<String, JsonElement> e : line.entrySet()) {
            if (e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()
                    && !Double.isFinite(e.getValue().getAsDouble())) {
                e.setValue(new JsonPrimitive(String.valueOf(e.getValue().getAsDouble())));
            }
        }
        try {
            out.write(gson.toJson(line));
            out.newLine();
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics", e);
        }
    }

    /** Closes the file. */
    @Override
    public void close() throws IOException {
        out.close();
    }
}
