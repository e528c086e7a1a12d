package ai.lorapro.demo;

import java.util.Locale;

/**
 * The mean and sample standard deviation of one quantity over seeds.
 *
 * @param mean the mean
 * @param sd the sample standard deviation (n - 1 in the denominator), 0 for a single value
 * @param n the number of values
 */
record Spread(double mean, double sd, int n) {

    /** The spread of {@code values}. */
    static Spread of(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        double mean = sum / values.length;
        double squares = 0;
        for (double v : values) {
            squares += (v - mean) * (v - mean);
        }
        double sd = values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : 0;
        return new Spread(mean, sd, values.length);
    }

    /**
     * Whether the means of this and {@code other} differ by more than the two standard deviations
     * together, i.e. whether the intervals mean +- sd do not overlap. Never true for single values.
     */
    boolean differsBeyondSpread(Spread other) {
        return n > 1 && other.n > 1 && Math.abs(mean - other.mean) > sd + other.sd;
    }

    /** {@code mean ± sd} with {@code decimals} decimals, or just the mean for one value. */
    String format(int decimals, double scale) {
        String pattern = "%." + decimals + "f";
        String m = String.format(Locale.ROOT, pattern, scale * mean);
        return n > 1 ? m + " ± " + String.format(Locale.ROOT, pattern, scale * sd) : m;
    }
}
