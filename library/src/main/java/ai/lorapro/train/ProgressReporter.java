package ai.lorapro.train;

import java.io.PrintStream;

/** Reports training progress after each optimizer step. */
public interface ProgressReporter {

    /**
     * Reports a finished step.
     *
     * @param step the optimizer step just completed (1-based)
     * @param loss the step's loss
     * @param lr the step's learning rate
     * @param tokensPerSecond the recent throughput in real tokens per second
     */
    void update(long step, double loss, double lr, double tokensPerSecond);

    /** Ends the report (a terminal bar moves to a fresh line). */
    void finish();

    /**
     * A bar redrawn in place when the JVM has an interactive console, else log lines every
     * {@code logInterval} steps (and at the last step).
     *
     * @param startStep the step the run starts after (0, or the resumed step)
     * @param totalSteps the step the run ends at
     * @param logInterval steps between log lines when not interactive
     * @return the reporter
     */
    static ProgressReporter create(long startStep, long totalSteps, int logInterval) {
        ProgressLine line = new ProgressLine(startStep, totalSteps, System::nanoTime);
        if (System.console() != null) {
            return new TerminalProgress(line, System.err);
        }
        return new LogProgress(line, logInterval);
    }

    /**
     * A bar drawn on {@code out}, whether or not it is a terminal.
     *
     * @param startStep the step the run starts after
     * @param totalSteps the step the run ends at
     * @param out where the bar is drawn
     * @return the reporter
     */
    static ProgressReporter terminal(long startStep, long totalSteps, PrintStream out) {
        return new TerminalProgress(new ProgressLine(startStep, totalSteps, System::nanoTime), out);
    }
}
