package ai.lorapro.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * Writes training metrics as JSON lines, one object per call, flushed at once so a crash loses
 * nothing already logged. Training lines hold {@code step, epoch, loss, lr, grad_norm,
 * tokens_per_s}; evaluation lines hold {@code step} and {@code eval_<name>} fields. NaN and
 * infinity are written as the bare tokens {@code NaN} and {@code Infinity}, which Python's {@code
 * json} module reads.
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
     * Writes one training line.
     *
     * @param step the optimizer step just completed (1-based)
     * @param epoch fractional epochs done
     * @param loss the step's mean loss
     * @param lr the learning rate the step used
     * @param gradNorm the global gradient norm before clipping
     * @param tokensPerSecond real tokens processed per second
     */
    public void writeTrain(long step, double epoch, double loss, double lr, double gradNorm,
            double tokensPerSecond) {
        JsonObject line = new JsonObject();
        line.addProperty("step", step);
        line.addProperty("epoch", epoch);
        line.addProperty("loss", loss);
        line.addProperty("lr", lr);
        line.addProperty("grad_norm", gradNorm);
        line.addProperty("tokens_per_s", tokensPerSecond);
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
