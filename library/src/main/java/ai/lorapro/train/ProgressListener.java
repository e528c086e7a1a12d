package ai.lorapro.train;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shows a step's loss, rate and throughput on the terminal or in the log. Progress is only shown:
 * a reporter that throws is logged once and not called again, and the run goes on.
 */
final class ProgressListener implements StepListener {

    private static final Logger LOGGER = LoggerFactory.getLogger(ProgressListener.class);

    private final ProgressReporter progress;
    private boolean failed;

    ProgressListener(ProgressReporter progress) {
        this.progress = progress;
    }

    @Override
    public void afterStep(StepRecord step) {
        report(() -> progress.update(step.step(), step.loss(), step.learningRate(), step.tokensPerSecond()));
    }

    @Override
    public void afterRun(long globalStep) {
        report(progress::finish);
    }

    /** Ends the report after a failed step, so that a bar ends its line before the error. */
    void finishAfterFailure() {
        report(progress::finish);
    }

    private void report(Runnable call) {
        if (failed) {
            return;
        }
        try {
            call.run();
        } catch (RuntimeException e) {
            failed = true;
            LOGGER.warn("the progress reporter failed; the run goes on without it", e);
        }
    }
}
