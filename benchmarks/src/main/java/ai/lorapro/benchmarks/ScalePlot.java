package ai.lorapro.benchmarks;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Plots the scale benchmark's Llama runs: median step time and peak RSS against the number of
 * parameters (log-log), one line per method and base-weight type, side by side in one PNG. For each
 * case the last successful line of the results file counts.
 */
final class ScalePlot {

    private ScalePlot() {}

    static void write(Path results, Path png) throws IOException {
        // series -> params -> [step_s, peak GB]
        Map<String, TreeMap<Long, double[]>> series = new LinkedHashMap<>();
        for (String text : Files.readAllLines(results, StandardCharsets.UTF_8)) {
            JsonObject line = JsonParser.parseString(text).getAsJsonObject();
            if (!"scale".equals(line.get("bench").getAsString()) || !line.get("ok").getAsBoolean()
                    || !line.get("model").getAsString().contains("llama") || !line.has("step_s")) {
                continue;
            }
            String name = line.get("method").getAsString() + " (" + line.get("frozen").getAsString() + " base)";
            series.computeIfAbsent(name, k -> new TreeMap<>()).put(line.get("params").getAsLong(), new double[] {
                line.get("step_s").getAsDouble(), line.get("peak_rss_bytes").getAsDouble() / 1e9});
        }
        XYChart time = chart("Median step time (batch 4 x 64 tokens)", "step time (s)");
        XYChart memory = chart("Peak RSS, checkpoint included", "peak RSS (GB)");
        for (Map.Entry<String, TreeMap<Long, double[]>> e : series.entrySet()) {
            List<Double> x = new ArrayList<>();
            List<Double> seconds = new ArrayList<>();
            List<Double> gb = new ArrayList<>();
            e.getValue().forEach((params, v) -> {
                x.add(params / 1e6);
                seconds.add(v[0]);
                gb.add(v[1]);
            });
            time.addSeries(e.getKey(), x, seconds);
            memory.addSeries(e.getKey(), x, gb);
        }
        Files.createDirectories(png.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(List.of(time, memory), 1, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String yLabel) {
        XYChart chart = new XYChartBuilder().width(640).height(460).title(title)
                .xAxisTitle("parameters (millions)").yAxisTitle(yLabel).build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setMarkerSize(6);
        return chart;
    }
}
