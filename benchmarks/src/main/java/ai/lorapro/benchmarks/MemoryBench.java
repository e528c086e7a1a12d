package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDManager;

import java.io.PrintStream;

/**
 * Peak native memory of training with one method: run it in a JVM of its own (run.sh does) so that
 * no other method's peak is mixed in. The peak is the kernel's high-water mark of the process's
 * resident set (VmHWM), which includes the JVM itself; the baseline before the model is built is
 * reported alongside.
 */
final class MemoryBench {

    private final int steps;
    private final PrintStream out;

    MemoryBench(int steps, PrintStream out) {
        this.steps = steps;
        this.out = out;
    }

    void run(NDManager root, String method) {
        long baseline = Machine.statusBytes("VmRSS");
        try (TrainSetup setup = new TrainSetup(root, method)) {
            for (int i = 0; i < steps; i++) {
                setup.step();
            }
            out.println(
                    JsonLine.of("memory")
                            .put("method", method)
                            .put("peak_rss_bytes", Machine.statusBytes("VmHWM"))
                            .put("state_bytes", setup.stateBytes())
                            .put("rss_bytes", Machine.statusBytes("VmRSS"))
                            .put("rss_before_model_bytes", baseline)
                            .put("steps", steps)
                            .put("model", TrainStepBench.modelDescription())
                            .withMachine());
        }
    }
}
