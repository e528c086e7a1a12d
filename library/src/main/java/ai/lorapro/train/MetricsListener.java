package ai.lorapro.train;

/** Writes each step's training line into the run's {@code metrics.jsonl}. */
final class MetricsListener implements StepListener {

    private final MetricsWriter metrics;

    MetricsListener(MetricsWriter metrics) {
        this.metrics = metrics;
    }

    @Override
    public void afterStep(StepRecord step) {
        metrics.writeTrain(step.step(), step.epoch(), step.loss(), step.learningRate(), step.gradientNorm(),
                step.tokensPerSecond(), step.seconds(), step.optimizerSeconds());
    }
}
