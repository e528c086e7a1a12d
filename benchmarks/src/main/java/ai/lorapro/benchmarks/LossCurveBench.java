package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDManager;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The loss curve of the {@code train-step} model under each method, on the same fixed batches for
 * every method (a few batches cycled, so the loss falls as the model memorises them): what a change
 * in the optimizer's numerics (e.g. bf16 moments) does to training. One model at a time.
 */
final class LossCurveBench {

    /** Distinct batches, cycled. */
    static final int BATCHES = 4;
    /** The learning rate (higher than train-step's so the curve moves in a few steps). */
    static final float LEARNING_RATE = 1e-3f;

    private final int steps;
    private final PrintStream out;

    LossCurveBench(int steps, PrintStream out) {
        this.steps = steps;
        this.out = out;
    }

    void run(NDManager root, List<String> methods) {
        long[][] batches = new long[BATCHES][];
        Random rng = new Random(5);
        for (int b = 0; b < BATCHES; b++) {
            batches[b] = new long[TrainSetup.BATCH * TrainSetup.SEQ];
            for (int i = 0; i < batches[b].length; i++) {
                batches[b][i] = rng.nextInt(TrainSetup.VOCAB);
            }
        }
        for (String method : methods) {
            List<Float> losses = new ArrayList<>();
            long start = System.nanoTime();
            try (TrainSetup setup = new TrainSetup(root, method, LEARNING_RATE)) {
                for (int s = 0; s < steps; s++) {
                    losses.add(setup.step(batches[s % BATCHES]));
                }
                out.println(
                        JsonLine.of("loss-curve")
                                .put("method", method)
                                .put("steps", steps)
                                .put("lr", LEARNING_RATE)
                                .put("batches", BATCHES)
                                .putNumbers("losses", losses)
                                .put("state_bytes", setup.stateBytes())
                                .put("seconds", (System.nanoTime() - start) / 1e9)
                                .put("model", TrainStepBench.modelDescription())
                                .withMachine());
            }
        }
    }
}
