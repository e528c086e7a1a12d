package ai.lorapro.cli;

import ai.lorapro.LoraProException;

/**
 * A training run that diverged (its loss not finite at the end, and in at least half of its steps):
 * the command fails with exit code 1 once the run's directory is complete (its loss curve drawn).
 */
final class TrainingDivergedException extends LoraProException {

    private static final long serialVersionUID = 1L;

    TrainingDivergedException(String message) {
        super(message);
    }
}
