package ai.lorapro.train;

/** Shows a step's loss, rate and throughput on the terminal or in the log. */
final class ProgressListener implements StepListener {

    private final ProgressReporter progress;

    ProgressListener(ProgressReporter progress) {
        this.progress = progress;
    }

    @Override
    public void afterStep(StepRecord step) {
        progress.update(step.step(), step.loss(), step.learningRate(), step.tokensPerSecond());
    }

    @Override
    public void afterRun(long globalStep) {
        progress.finish();
    }
}
