package ai.lorapro.train;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.lorapro.InvalidInputException;

/**
 * PyTorch's intra-op thread count (the threads one operator such as a matrix product uses). PyTorch's
 * default is one per physical core. Its OpenMP threads spin while they wait for work, so on a machine
 * where another process holds a core a step can run many times slower with all cores than with fewer:
 * lower it there (see docs/training.md, and {@code OMP_WAIT_POLICY=PASSIVE}).
 */
public final class ComputeThreads {

    /** More threads than any machine we know of: a larger value is a typo. */
    public static final int MAX = 4096;

    private ComputeThreads() {}

    /**
     * Sets the intra-op thread count for this process (PyTorch engine only; loads the engine).
     *
     * @param threads at least 1
     * @throws InvalidInputException for a count below 1 or above {@link #MAX}
     */
    public static void set(int threads) {
        if (threads < 1 || threads > MAX) {
            throw new InvalidInputException("threads must be between 1 and " + MAX + ", got " + threads);
        }
        Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
    }

    /** The intra-op thread count in force (loads the engine). */
    public static int current() {
        Engine.getEngine("PyTorch");
        return JniUtils.getNumThreads();
    }
}
