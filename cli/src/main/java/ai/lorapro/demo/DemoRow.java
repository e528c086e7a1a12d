package ai.lorapro.demo;

import java.util.List;
import java.util.Locale;

/**
 * One row of the demo's table.
 *
 * @param method the method
 * @param finalLoss the training loss of the last step
 * @param evalLoss the loss on the held-out problems
 * @param exactMatch the fraction of held-out problems answered exactly
 * @param seconds fine-tuning wall time
 * @param peakRssBytes the process's peak resident set during fine-tuning, -1 if unknown
 * @param optimizerStateBytes bytes of optimizer state
 * @param trainableParameters trainable values
 */
public record DemoRow(String method, double finalLoss, double evalLoss, double exactMatch, double seconds,
        long peakRssBytes, long optimizerStateBytes, long trainableParameters) {

    /** The rows as a Markdown table. */
    static String table(List<DemoRow> rows, int steps, int batch) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Fine-tuning on held-out subtraction: %d steps x %d examples%n%n",
                steps, batch));
        sb.append("| method | final train loss | eval loss | exact match | time (s) | peak RSS (MB) "
                + "| optimizer state (KB) | trainable params |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (DemoRow r : rows) {
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %.1f%% | %s | %s | %s | %s |%n",
                    r.method(),
                    Double.isNaN(r.finalLoss()) ? "-" : String.format(Locale.ROOT, "%.4f", r.finalLoss()),
                    Double.isNaN(r.evalLoss()) ? "-" : String.format(Locale.ROOT, "%.4f", r.evalLoss()),
                    100 * r.exactMatch(),
                    r.seconds() > 0 ? String.format(Locale.ROOT, "%.1f", r.seconds()) : "-",
                    r.peakRssBytes() > 0 ? String.format(Locale.ROOT, "%.0f", r.peakRssBytes() / 1e6) : "-",
                    r.trainableParameters() > 0
                            ? String.format(Locale.ROOT, "%.1f", r.optimizerStateBytes() / 1024.0) : "-",
                    r.trainableParameters() > 0 ? String.format(Locale.ROOT, "%,d", r.trainableParameters()) : "-"));
        }
        return sb.toString();
    }
}
