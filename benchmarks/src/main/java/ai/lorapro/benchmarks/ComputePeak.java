package ai.lorapro.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.stream.IntStream;

/**
 * What the fused full-mode step's arithmetic costs at best on this machine, beside the memory bound:
 * the time of one vector multiply-add, and of one vector square root, add and divide (Adam's m /
 * (sqrt(v) + eps)), on every core at once. Each is timed over independent chains, so that the
 * figure is the cores' throughput, not an instruction's latency.
 *
 * <p>Per element of an m x n pair the fused step does 4r + 4 multiply-adds or multiplies (2r for
 * the equivalent gradient, r for each of the two projections, four in the moments) and one square
 * root, add and divide. The step cannot be faster than either part at these rates ({@link
 * Result#fmaMs}, {@link Result#divideMs}), the larger of which is its floor; {@link
 * Result#arithmeticMs}, their sum, is what it takes where the two do not overlap.
 */
final class ComputePeak {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    /** Loop trips per timing of the multiply-adds (ten chains each). */
    private static final int FMA_TRIPS = 20_000_000;
    /** Loop trips per timing of the divides (four chains each). */
    private static final int DIVIDE_TRIPS = 4_000_000;

    /**
     * @param lanes floats per vector
     * @param cores cores timed together
     * @param fmaNs nanoseconds per vector multiply-add on each core
     * @param divideNs nanoseconds per vector square root, add and divide on each core
     */
    record Result(int lanes, int cores, double fmaNs, double divideNs) {

        /** The fused step's multiply-adds for an m x n pair of rank r, all cores at these rates, in ms. */
        double fmaMs(long m, long n, int rank) {
            return (4.0 * rank + 4) * fmaNs * perCore(m, n) / 1e6;
        }

        /** Its square roots and divides, in ms. */
        double divideMs(long m, long n) {
            return divideNs * perCore(m, n) / 1e6;
        }

        /** Both, one after the other (not a floor: the divider may work beside the multiply-adds), in ms. */
        double arithmeticMs(long m, long n, int rank) {
            return fmaMs(m, n, rank) + divideMs(m, n);
        }

        private double perCore(long m, long n) {
            return (double) m * n / lanes / cores;
        }
    }

    private ComputePeak() {}

    /** Times both on all cores; the fastest of {@code rounds} timings (after as many to warm the JIT). */
    static Result measure(int rounds) {
        int cores = Runtime.getRuntime().availableProcessors();
        double fma = Double.MAX_VALUE;
        double divide = Double.MAX_VALUE;
        for (int round = 0; round < 2 * rounds; round++) {
            boolean warm = round >= rounds;
            // the first rounds run the loops briefly, so that the JIT compiles them before any timing
            int fmaTrips = warm ? FMA_TRIPS : FMA_TRIPS / 100;
            int divideTrips = warm ? DIVIDE_TRIPS : DIVIDE_TRIPS / 100;
            long start = System.nanoTime();
            float sink = (float) IntStream.range(0, cores).parallel().mapToDouble(c -> fmaChains(fmaTrips)).sum();
            long middle = System.nanoTime();
            sink += (float) IntStream.range(0, cores).parallel().mapToDouble(c -> divideChains(divideTrips)).sum();
            long end = System.nanoTime();
            if (warm) {
                fma = Math.min(fma, (middle - start) / (10.0 * fmaTrips));
                divide = Math.min(divide, (end - middle) / (4.0 * divideTrips));
            }
            if (sink == 42f) {
                System.err.print(""); // the sums are used, so the JIT keeps the loops
            }
        }
        return new Result(FLOATS.length(), cores, fma, divide);
    }

    /** Ten independent multiply-add chains of {@code trips} each. */
    private static double fmaChains(int trips) {
        FloatVector x = FloatVector.broadcast(FLOATS, 0.999f);
        FloatVector y = FloatVector.broadcast(FLOATS, 1e-4f);
        FloatVector a0 = FloatVector.broadcast(FLOATS, 1f);
        FloatVector a1 = a0.add(1);
        FloatVector a2 = a0.add(2);
        FloatVector a3 = a0.add(3);
        FloatVector a4 = a0.add(4);
        FloatVector a5 = a0.add(5);
        FloatVector a6 = a0.add(6);
        FloatVector a7 = a0.add(7);
        FloatVector a8 = a0.add(8);
        FloatVector a9 = a0.add(9);
        for (int i = 0; i < trips; i++) {
            a0 = a0.fma(x, y);
            a1 = a1.fma(x, y);
            a2 = a2.fma(x, y);
            a3 = a3.fma(x, y);
            a4 = a4.fma(x, y);
            a5 = a5.fma(x, y);
            a6 = a6.fma(x, y);
            a7 = a7.fma(x, y);
            a8 = a8.fma(x, y);
            a9 = a9.fma(x, y);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9)
                .reduceLanes(VectorOperators.ADD);
    }

    /** Four independent chains of u += m / (sqrt(v) + eps), v growing, of {@code trips} each. */
    private static double divideChains(int trips) {
        FloatVector m = FloatVector.broadcast(FLOATS, 0.5f);
        FloatVector eps = FloatVector.broadcast(FLOATS, 1e-3f);
        // a step every chain's v feels (1e-7 would round away on 2.0 and above): nothing is loop invariant
        FloatVector step = FloatVector.broadcast(FLOATS, 1e-3f);
        FloatVector v0 = FloatVector.broadcast(FLOATS, 1f);
        FloatVector v1 = v0.add(1);
        FloatVector v2 = v0.add(2);
        FloatVector v3 = v0.add(3);
        FloatVector u0 = FloatVector.zero(FLOATS);
        FloatVector u1 = u0;
        FloatVector u2 = u0;
        FloatVector u3 = u0;
        for (int i = 0; i < trips; i++) {
            v0 = v0.add(step);
            v1 = v1.add(step);
            v2 = v2.add(step);
            v3 = v3.add(step);
            u0 = u0.add(m.div(v0.sqrt().add(eps)));
            u1 = u1.add(m.div(v1.sqrt().add(eps)));
            u2 = u2.add(m.div(v2.sqrt().add(eps)));
            u3 = u3.add(m.div(v3.sqrt().add(eps)));
        }
        return u0.add(u1).add(u2).add(u3).reduceLanes(VectorOperators.ADD);
    }
}
