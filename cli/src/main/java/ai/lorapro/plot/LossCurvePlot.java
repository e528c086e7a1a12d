package ai.lorapro.plot;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import ai.lorapro.io.AtomicFiles;
import ai.lorapro.train.MetricsLog;
import ai.lorapro.train.TrainingEngine;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A PNG line chart of one or more named loss curves (for example full, lora and lora-pro on the
 * same axes), rendered headless with XChart and written atomically.
 */
public final class LossCurvePlot {

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final int width;
    private final int height;
    /** The training run's loss plot, beside its metrics file. */
    public static final String TRAINING_PLOT_FILE = TrainingEngine.PLOT_FILE;

    private final Map<String, double[][]> series = new LinkedHashMap<>();

    /**
     * An empty chart.
     *
     * @param title the chart title
     * @param width the image width in pixels
     * @param height the image height in pixels
     */
    public LossCurvePlot(String title, int width, int height) {
        this(title, "step", "loss", width, height);
    }

    /**
     * An empty chart with axis titles.
     *
     * @param title the chart title
     * @param xLabel the x-axis title
     * @param yLabel the y-axis title
     * @param width the image width in pixels
     * @param height the image height in pixels
     */
    public LossCurvePlot(String title, String xLabel, String yLabel, int width, int height) {
        if (width < 50 || height < 50) {
            throw new IllegalArgumentException("plot must be at least 50x50, got " + width + "x"
                    + height);
        }
        this.title = Objects.requireNonNull(title, "title");
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.width = width;
        this.height = height;
    }

    /**
     * Draws a finished run's loss curves (train, and eval where present) from its metrics file into
     * {@link #TRAINING_PLOT_FILE} in the same directory.
     *
     * @param runDir the run's output directory
     * @throws IOException when the metrics cannot be read or the image written
     */
    public static void writeTrainingCurves(Path runDir) throws IOException {
        Path metricsFile = runDir.resolve(TrainingEngine.METRICS_FILE);
        MetricsLog.Series train = MetricsLog.read(metricsFile, "loss");
        MetricsLog.Series eval = MetricsLog.read(metricsFile, "eval_loss");
        LossCurvePlot plot = new LossCurvePlot("Training loss", 800, 500);
        if (train.values().length > 0) {
            plot.addSeries("train", train.steps(), train.values());
        }
        if (eval.values().length > 0) {
            plot.addSeries("eval", eval.steps(), eval.values());
        }
        plot.writePng(runDir.resolve(TRAINING_PLOT_FILE));
    }

    /**
     * Adds a curve; non-finite points are left out so a diverged run still plots.
     *
     * @param name the legend name, unique in the chart
     * @param steps the x values
     * @param values the y values, as many as steps
     * @return this plot
     */
    public LossCurvePlot addSeries(String name, double[] steps, double[] values) {
        if (steps.length != values.length) {
            throw new IllegalArgumentException("series " + name + ": " + steps.length
                    + " steps but " + values.length + " values");
        }
        if (series.containsKey(name)) {
            throw new IllegalArgumentException("series " + name + " added twice");
        }
        int n = 0;
        for (double v : values) {
            n += Double.isFinite(v) ? 1 : 0;
        }
        double[] x = new double[n];
        double[] y = new double[n];
        for (int i = 0, k = 0; i < values.length; i++) {
            if (Double.isFinite(values[i])) {
                x[k] = steps[i];
                y[k++] = values[i];
            }
        }
        series.put(name, new double[][] {x, y});
        return this;
    }

    /**
     * Renders the chart and writes it as PNG: to a temporary file beside {@code file}, then
     * renamed over it, so readers never see a half-written image.
     *
     * @param file the PNG file; parent directories are created
     * @throws IOException when writing fails
     */
    public void writePng(Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(width).height(height).title(title)
                .xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        chart.getStyler().setMarkerSize(0);
        for (Map.Entry<String, double[][]> e : series.entrySet()) {
            double[][] xy = e.getValue();
            if (xy[0].length == 0) {
                continue;
            }
            XYSeries s = chart.addSeries(e.getKey(), xy[0], xy[1]);
            s.setMarker(SeriesMarkers.NONE);
        }
        // atomically, and with the permissions of any other file we write (a temp file would be owner-only)
        AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }
}
