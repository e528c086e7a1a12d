package ai.lorapro.cli;

/** Runs a parsed {@code lorapro train} job; the seam between the command line and the engine. */
@FunctionalInterface
public interface TrainLauncher {

    /**
     * Trains as {@code job} says.
     *
     * @param job the run settings and input files
     * @throws Exception any failure; {@link ai.lorapro.InvalidInputException} maps to exit code
     *     2, anything else to 1
     */
    void launch(TrainJob job) throws Exception;
}
