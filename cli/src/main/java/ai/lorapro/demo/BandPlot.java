package ai.lorapro.demo;

import ai.lorapro.io.AtomicFiles;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A PNG chart of training-loss curves over seeds: per method the mean curve, and a shaded band of
 * mean +- one standard deviation over the seeds at each step.
 */
final class BandPlot {

    private static final Color[] COLORS = {
        new Color(0x1f, 0x77, 0xb4), new Color(0xd6, 0x27, 0x28), new Color(0x2c, 0xa0, 0x2c),
        new Color(0x94, 0x67, 0xbd), new Color(0xff, 0x7f, 0x0e),
    };

    private record Curves(String name, List<double[]> runs) {}

    private final String title;
    private final List<Curves> methods = new ArrayList<>();

    BandPlot(String title) {
        this.title = title;
    }

    /** Adds a method's per-step losses, one array per seed, all of the same length. */
    BandPlot add(String name, List<double[]> runs) {
        methods.add(new Curves(name, List.copyOf(runs)));
        return this;
    }

    /**
     * Renders the chart and writes it atomically to {@code file}.
     *
     * @throws ai.lorapro.LoraProException when the file cannot be written
     */
    void writePng(Path file) {
        XYChart chart = new XYChartBuilder().width(900).height(550).title(title)
                .xAxisTitle("step").yAxisTitle("training loss (mean over seeds, band: ± 1 sd)").build();
        chart.getStyler().setMarkerSize(0);
        for (int k = 0; k < methods.size(); k++) {
            Curves c = methods.get(k);
            int steps = c.runs().get(0).length;
            double[] x = new double[steps];
            double[] mean = new double[steps];
            double[] sd = new double[steps];
            for (int t = 0; t < steps; t++) {
                double[] atStep = new double[c.runs().size()];
                for (int s = 0; s < atStep.length; s++) {
                    atStep[s] = c.runs().get(s)[t];
                }
                Spread spread = Spread.of(atStep);
                x[t] = t + 1;
                mean[t] = spread.mean();
                sd[t] = spread.sd();
            }
            Color color = COLORS[k % COLORS.length];
            if (c.runs().size() > 1) {
                double[] bandX = new double[2 * steps];
                double[] bandY = new double[2 * steps];
                for (int t = 0; t < steps; t++) {
                    bandX[t] = x[t];
                    bandY[t] = mean[t] + sd[t];
                    bandX[2 * steps - 1 - t] = x[t];
                    bandY[2 * steps - 1 - t] = mean[t] - sd[t];
                }
                XYSeries band = chart.addSeries(c.name() + " ± sd", bandX, bandY);
                band.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.PolygonArea);
                band.setFillColor(new Color(color.getRed(), color.getGreen(), color.getBlue(), 60));
                band.setLineColor(new Color(0, 0, 0, 0));
                band.setMarker(SeriesMarkers.NONE);
                band.setShowInLegend(false);
            }
            XYSeries line = chart.addSeries(c.name(), x, mean);
            line.setLineColor(color);
            line.setMarker(SeriesMarkers.NONE);
        }
        AtomicFiles.write(file, out -> BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG));
    }
}
