package ai.lorapro.data.batch;

import java.util.Random;

/**
 * The order in which an epoch visits the examples: a seeded Fisher-Yates shuffle that depends only
 * on (seed, epoch, size), so any epoch's order can be recomputed when a run resumes.
 */
public final class EpochOrder {

    /** Spreads consecutive epochs over unrelated seeds (the 64-bit golden ratio). */
    private static final long EPOCH_MIX = 0x9E3779B97F4A7C15L;

    private EpochOrder() {}

    /**
     * The example indices of {@code epoch} in visiting order.
     *
     * @param size the number of examples
     * @param seed the run's seed
     * @param epoch the 0-based epoch
     * @param shuffle {@code false} for the identity order
     * @return a permutation of {@code 0 .. size-1}
     */
    public static int[] of(int size, long seed, int epoch, boolean shuffle) {
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        if (!shuffle) {
            return order;
        }
        // java.util.Random's algorithm is fixed by its specification: same order on every JVM.
        Random random = new Random(seed ^ (EPOCH_MIX * (epoch + 1L)));
        for (int i = size - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return order;
    }
}
