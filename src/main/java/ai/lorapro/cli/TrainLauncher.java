package ai.lorapro.cli;

import ai.lorapro.LoraProException;

/** Runs a parsed {@code lorapro train} job; the seam between the command line and the engine. */
@FunctionalInterface
public interface TrainLauncher {

    /** The launcher of a build without a training engine: every launch fails with exit code 1. */
    TrainLauncher UNAVAILABLE = job -> {
        throw new LoraProException("the training engine is not available in this build");
    };

    /**
     * Trains as {@code job} says.
     *
     * @param job the run settings and input files
     * @throws Exception any failure; {@link ai.lorapro.InvalidInputException} maps to exit code
     *     2, anything else to 1
     */
    void launch(TrainJob job) throws Exception;
}
