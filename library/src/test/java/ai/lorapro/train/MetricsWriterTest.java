package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

class MetricsWriterTest {

    @TempDir
    Path dir;

    @Test
    void writesOneFlushedObjectPerLine() throws Exception {
        Path file = dir.resolve("sub/metrics.jsonl");
        try (MetricsWriter w = MetricsWriter.open(file, false)) {
            w.writeTrain(1, 0.25, 2.5, 1e-4, 0.75, 1234.5, 2.0, 0.5);
            // Flushed before close: a crash after this call keeps the line.
            assertEquals(1, Files.readAllLines(file).size());
            w.writeEval(1, Map.of("loss", 2.0));
        }
        List<String> lines = Files.readAllLines(file);
        assertEquals(2, lines.size());
        JsonObject train = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals(1, train.get("step").getAsLong());
        assertEquals(0.25, train.get("epoch").getAsDouble());
        assertEquals(2.5, train.get("loss").getAsDouble());
        assertEquals(1e-4, train.get("lr").getAsDouble());
        assertEquals(0.75, train.get("grad_norm").getAsDouble());
        assertEquals(1234.5, train.get("tokens_per_s").getAsDouble());
        assertEquals(2.0, train.get("step_s").getAsDouble());
        assertEquals(0.5, train.get("optimizer_s").getAsDouble());
        JsonObject eval = JsonParser.parseString(lines.get(1)).getAsJsonObject();
        assertEquals(2.0, eval.get("eval_loss").getAsDouble());
    }

    @Test
    void appendKeepsEarlierLinesAndReaderRecoversSeries() throws Exception {
        Path file = dir.resolve("metrics.jsonl");
        try (MetricsWriter w = MetricsWriter.open(file, false)) {
            w.writeTrain(1, 0.1, 3.0, 1e-4, 1, 10, 2.0, 0.5);
        }
        try (MetricsWriter w = MetricsWriter.open(file, true)) {
            w.writeEval(1, Map.of("loss", 2.9));
            w.writeTrain(2, 0.2, Double.NaN, 1e-4, Double.POSITIVE_INFINITY, 10, 2.0, 0.5);
        }
        MetricsLog.Series loss = MetricsLog.read(file, "loss");
        assertArrayEquals(new double[] {1, 2}, loss.steps());
        assertEquals(3.0, loss.values()[0]);
        assertTrue(Double.isNaN(loss.values()[1]));
        assertArrayEquals(new double[] {2.9}, MetricsLog.read(file, "eval_loss").values());
    }

    @Test
    void readerNamesABadLine() throws Exception {
        Path file = dir.resolve("bad.jsonl");
        Files.writeString(file, "{\"step\":1,\"loss\":2}\nnot json\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> MetricsLog.read(file, "loss"));
        assertTrue(e.getMessage().contains("bad.jsonl:2"), e.getMessage());
    }
}
