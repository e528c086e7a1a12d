package ai.lorapro.nn;

import java.util.SplittableRandom;

/** The one Gaussian sampler behind every reproducible random initialisation. */
public final class Sampling {

    private Sampling() {}

    /** A standard normal draw (Box-Muller on two uniforms; 1 - u keeps the logarithm finite). */
    public static double gaussian(SplittableRandom rng) {
        double u1 = rng.nextDouble();
        double u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }
}
