package ai.lorapro.optim;

import ai.djl.ndarray.NDManager;
import ai.lorapro.models.Fixtures;

/**
 * The Vector API kernel against the plain loops, one pass on several shapes with fp32 and bf16
 * moments, in a JVM whose vectors {@link VectorAdamKernelTest} narrows with {@code
 * -XX:MaxVectorSize} (what AVX2 and ARM NEON machines run): prints the kernel and, per moment
 * type, the largest relative difference of m, v and of the two projections.
 */
public final class NarrowVectorsMain {

    /** rows, cols, rank: row groups and single rows, strips and tails, ranks 1 to 64. */
    private static final int[][] CASES = {{67, 1100, 8}, {203, 45, 4}, {50, 70, 3}, {130, 96, 64}, {37, 203, 1}};

    private NarrowVectorsMain() {}

    /** Prints "kernel=..." and, for fp32 and bf16, "fp32 moments=... projections=...". */
    public static void main(String[] args) {
        System.out.println("kernel=" + new VectorAdamKernel());
        try (NDManager manager = NDManager.newBaseManager()) {
            for (boolean bf16 : new boolean[] {false, true}) {
                double moments = 0;
                double projections = 0;
                for (int[] c : CASES) {
                    float[][] vector = KernelPass.run(manager, "vector", c[0], c[1], c[2], bf16, 2);
                    float[][] scalar = KernelPass.run(manager, "scalar", c[0], c[1], c[2], bf16, 2);
                    for (int i = 0; i < 4; i++) {
                        double error = Fixtures.relativeError(vector[i], scalar[i]);
                        if (i < 2) {
                            moments = Math.max(moments, error);
                        } else {
                            projections = Math.max(projections, error);
                        }
                    }
                }
                System.out.println((bf16 ? "bf16" : "fp32") + " moments=" + moments + " projections=" + projections);
            }
        }
    }
}
