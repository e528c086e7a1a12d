package ai.lorapro.train;

import ai.djl.training.tracker.Tracker;

/**
 * A learning rate tracker driven by the engine's global step rather than by the optimizer's own
 * update counter, so that skipped steps and resumed runs follow the schedule exactly.
 */
final class StepLearningRate implements Tracker {

    private final WarmupCosineSchedule schedule;
    private long completedSteps;

    StepLearningRate(WarmupCosineSchedule schedule) {
        this.schedule = schedule;
    }

    /** Sets the number of optimizer steps completed before the coming one. */
    void setCompletedSteps(long completedSteps) {
        this.completedSteps = completedSteps;
    }

    /** The rate the coming step uses. */
    float current() {
        return schedule.valueAfter(completedSteps);
    }

    @Override
    public float getNewValue(int numUpdate) {
        return current();
    }
}
