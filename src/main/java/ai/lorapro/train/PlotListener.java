package ai.lorapro.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;

/** Draws the train and eval loss curves of {@code metrics.jsonl} into a PNG at the end of a run. */
final class PlotListener implements StepListener {

    private static final Logger LOGGER = LoggerFactory.getLogger(PlotListener.class);

    private final Path metricsFile;
    private final Path png;

    PlotListener(Path metricsFile, Path png) {
        this.metricsFile = metricsFile;
        this.png = png;
    }

    /** A failed plot is logged, never fatal: the run's results are already written. */
    @Override
    public void afterRun(long globalStep) {
        try {
            MetricsLog.Series train = MetricsLog.read(metricsFile, "loss");
            MetricsLog.Series eval = MetricsLog.read(metricsFile, "eval_loss");
            LossCurvePlot plot = new LossCurvePlot("Training loss", 800, 500);
            if (train.values().length > 0) {
                plot.addSeries("train", train.steps(), train.values());
            }
            if (eval.values().length > 0) {
                plot.addSeries("eval", eval.steps(), eval.values());
            }
            plot.writePng(png);
        } catch (IOException | RuntimeException e) {
            LOGGER.warn("cannot write the loss plot {}: {}", png, e.toString());
        }
    }
}
