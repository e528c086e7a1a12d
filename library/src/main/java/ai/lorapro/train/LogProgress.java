package ai.lorapro.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.function.Consumer;

/** Logs a plain progress line every N steps and at the last step, for logs and pipes. */
final class LogProgress implements ProgressReporter {

    private static final Logger LOGGER = LoggerFactory.getLogger(LogProgress.class);

    private final ProgressLine line;
    private final int interval;
    private final Consumer<String> sink;

    LogProgress(ProgressLine line, int interval) {
        this(line, interval, LOGGER::info);
    }

    LogProgress(ProgressLine line, int interval, Consumer<String> sink) {
        if (interval < 1) {
            throw new IllegalArgumentException("log interval must be >= 1, got " + interval);
        }
        this.line = line;
        this.interval = interval;
        this.sink = sink;
    }

    @Override
    public void update(long step, double loss, double lr, double tokensPerSecond) {
        if (step % interval == 0 || step == line.totalSteps()) {
            sink.accept(line.plain(step, loss, lr, tokensPerSecond));
        }
    }

    @Override
    public void finish() {
        // Each line is complete when logged.
    }
}
