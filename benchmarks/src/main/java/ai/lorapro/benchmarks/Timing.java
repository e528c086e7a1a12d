package ai.lorapro.benchmarks;

import java.util.Arrays;

/** Warm-up then timed repetitions; the median is robust to the odd slow step of a shared machine. */
final class Timing {

    private Timing() {}

    /** Runs {@code warmup} untimed then {@code timed} timed repetitions and returns each in ms. */
    static double[] run(int warmup, int timed, Runnable body) {
        for (int i = 0; i < warmup; i++) {
            body.run();
        }
        double[] ms = new double[timed];
        for (int i = 0; i < timed; i++) {
            long start = System.nanoTime();
            body.run();
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        return ms;
    }

    /** The median of {@code values}. */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /** The smallest of {@code values}. */
    static double min(double[] values) {
        return Arrays.stream(values).min().orElse(Double.NaN);
    }
}
