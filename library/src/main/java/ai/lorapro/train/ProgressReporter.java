package ai.lorapro.train;

import java.io.PrintStream;

/**
 * Reports training progress after each optimizer step. The {@link TrainingEngine} makes one per run
 * through a {@link Factory} ({@link TrainingEngine.Builder#optProgress}): by default a bar on an
 * interactive console, else log lines ({@link #create}); {@link Factory#silent()} for a program that
 * shows its own progress. Progress is only shown: an exception a reporter throws is logged, the
 * reporter is not called again, and the run goes on (to stop a run early, train with {@link
 * TrainingEngine#runUntil}).
 */
public interface ProgressReporter {

    /**
     * Reports a finished step.
     *
     * @param step the optimizer step just completed (1-based)
     * @param loss the step's loss
     * @param lr the step's learning rate
     * @param tokensPerSecond the recent throughput in real tokens per second (images per second for an
     *     image task: what {@link TrainTask#throughputUnit()} names)
     */
    void update(long step, double loss, double lr, double tokensPerSecond);

    /** Ends the report (a terminal bar moves to a fresh line). */
    void finish();

    /** A reporter that reports nothing. */
    static ProgressReporter none() {
        return SilentProgress.INSTANCE;
    }

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
        return create(startStep, totalSteps, logInterval, TrainTask.TOKENS);
    }

    /** {@link #create(long, long, int)} with the throughput in {@code unit}s per second ("tok", "img"). */
    static ProgressReporter create(long startStep, long totalSteps, int logInterval, String unit) {
        ProgressLine line = new ProgressLine(startStep, totalSteps, System::nanoTime, unit);
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

    /** Makes the reporter of one run of the engine, once the run's first and last steps are known. */
    @FunctionalInterface
    interface Factory {

        /**
         * @param startStep the step the run starts after (0, or the resumed step)
         * @param totalSteps the last step of the whole training ({@link TrainingEngine#runUntil} may
         *     stop earlier)
         * @param logInterval the configured steps between log lines ({@link RunConfig#logInterval()})
         * @return the run's reporter
         */
        ProgressReporter create(long startStep, long totalSteps, int logInterval);

        /**
         * {@link #create(long, long, int)} for a task whose throughput counts {@code unit}s ("tok",
         * or "img" for an image task; {@link TrainTask#throughputUnit()}): what the engine calls. By
         * default the unit is not used.
         *
         * @param startStep the step the run starts after
         * @param totalSteps the last step of the whole training
         * @param logInterval the configured steps between log lines
         * @param unit what the throughput passed to {@link ProgressReporter#update} counts
         * @return the run's reporter
         */
        default ProgressReporter create(long startStep, long totalSteps, int logInterval, String unit) {
            return create(startStep, totalSteps, logInterval);
        }

        /**
         * The default: a bar on an interactive console, else log lines ({@link ProgressReporter#create}),
         * the throughput in the task's unit.
         */
        static Factory standard() {
            return new Factory() {
                @Override
                public ProgressReporter create(long startStep, long totalSteps, int logInterval) {
                    return ProgressReporter.create(startStep, totalSteps, logInterval);
                }

                @Override
                public ProgressReporter create(long startStep, long totalSteps, int logInterval, String unit) {
                    return ProgressReporter.create(startStep, totalSteps, logInterval, unit);
                }
            };
        }

        /**
         * No progress lines or bar (metrics, checkpoints and the result are unchanged; evaluations
         * still log their results).
         */
        static Factory silent() {
            return (startStep, totalSteps, logInterval) -> ProgressReporter.none();
        }
    }
}
