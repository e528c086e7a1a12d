package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDManager;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whole training steps (forward, backward, optimizer) for each method. The methods' models live
 * side by side and their timed steps are interleaved round by round, so a change in the load of a
 * shared machine falls on every method alike and the ratios stay fair.
 */
final class TrainStepBench {

    private final int warmup;
    private final int timed;
    private final PrintStream out;

    TrainStepBench(int warmup, int timed, PrintStream out) {
        this.warmup = warmup;
        this.timed = timed;
        this.out = out;
    }

    void run(NDManager root, List<String> methods) {
        Map<String, TrainSetup> setups = new LinkedHashMap<>();
        Map<String, double[]> times = new LinkedHashMap<>();
        try {
            for (String method : methods) {
                TrainSetup setup = new TrainSetup(root, method);
                setups.put(method, setup);
                times.put(method, new double[timed]);
                for (int i = 0; i < warmup; i++) {
                    setup.step();
                }
            }
            for (int round = 0; round < timed; round++) {
                for (TrainSetup setup : setups.values()) {
                    long start = System.nanoTime();
                    setup.step();
                    times.get(setup.method)[round] = (System.nanoTime() - start) / 1e6;
                }
            }
            double loraMs = times.containsKey("lora") ? Timing.median(times.get("lora")) : Double.NaN;
            for (TrainSetup setup : setups.values()) {
                double[] ms = times.get(setup.method);
                double median = Timing.median(ms);
                out.println(
                        JsonLine.of("train-step")
                                .put("method", setup.method)
                                .put("ms", median)
                                .put("tokens_per_s", TrainSetup.tokensPerStep() / (median / 1000))
                                .put("min_ms", Timing.min(ms))
                                .put("steps", timed)
                                .put("ratio_to_lora", median / loraMs)
                                .put("trainable_params", setup.trainableElements())
                                .put("state_bytes", setup.stateBytes())
                                .put("model", modelDescription())
                                .withMachine());
            }
        } finally {
            List<TrainSetup> all = new ArrayList<>(setups.values());
            all.forEach(TrainSetup::close);
        }
    }

    /** The model and batch, as recorded with each line. */
    static String modelDescription() {
        return "llama hidden " + TrainSetup.HIDDEN + ", layers " + TrainSetup.LAYERS + ", heads " + TrainSetup.HEADS
                + ", intermediate " + TrainSetup.INTERMEDIATE + ", vocab " + TrainSetup.VOCAB + ", seq "
                + TrainSetup.SEQ + ", batch " + TrainSetup.BATCH + ", lora r " + TrainSetup.RANK + " all-linear";
    }
}
