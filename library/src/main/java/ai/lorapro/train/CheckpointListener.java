package ai.lorapro.train;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.optim.ResumableOptimizer;

import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * Publishes a checkpoint every {@code interval} steps (not at a run's last step) and at the end of
 * the run, and restores one with the checks that make a resume exact.
 */
final class CheckpointListener implements StepListener {

    private final Supplier<Path> save;
    private final int interval;
    private Path last;

    /**
     * @param save publishes a checkpoint of the engine's current state and returns its directory
     * @param interval steps between checkpoints, 0 for the end only
     */
    CheckpointListener(Supplier<Path> save, int interval) {
        this.save = save;
        this.interval = interval;
    }

    @Override
    public void afterStep(StepRecord step) {
        if (!step.last() && interval > 0 && step.step() % interval == 0) {
            last = save.get();
        }
    }

    @Override
    public void afterRun(long globalStep) {
        last = save.get();
    }

    /** The latest checkpoint written, or null. */
    Path last() {
        return last;
    }

    /**
     * Restores the checkpoint at {@code dir} into a model prepared for the config's method and
     * checks that it continues this run: same training data, same seed.
     *
     * @param fingerprint the fingerprint of this run's training examples
     * @return the engine's saved state
     * @throws InvalidInputException when the checkpoint is unusable or belongs to another run
     */
    static TrainerState restore(Path dir, Block model, TrainConfig config, ResumableOptimizer optimizer,
            NDManager manager, String fingerprint) {
        TrainerState state = TrainingCheckpoint.restore(dir, model, config.method(), optimizer, manager);
        if (!state.datasetFingerprint().equals(fingerprint)) {
            throw new InvalidInputException("checkpoint " + dir
                    + ": the training data differs from the checkpoint's (fingerprint mismatch)");
        }
        if (state.seed() != config.run().seed()) {
            throw new InvalidInputException("checkpoint " + dir + ": checkpoint used seed "
                    + state.seed() + ", not " + config.run().seed());
        }
        return state;
    }
}
