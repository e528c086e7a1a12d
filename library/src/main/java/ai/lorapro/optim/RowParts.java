package ai.lorapro.optim;

import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * How every kernel of the fused step splits the m rows of a pass: into contiguous parts whose
 * number depends on m only, never on the threads. Each part sums its own B^T u and the parts are
 * added in part order, so the result is the same on every machine (a run resumed on another core
 * count continues bit for bit); more parts than threads let the fork-join pool give the work of a
 * thread that waits for a core to one that runs.
 */
final class RowParts {

    /** At most this many parts: enough for 16 threads, few enough to sum the partials cheaply. */
    private static final int MAX_PARTS = 16;
    /** Fewest rows worth a part of their own. */
    private static final int MIN_ROWS_PER_PART = 16;

    private RowParts() {}

    /** The number of parts of {@code rows} rows. */
    static int count(int rows) {
        return Math.max(1, Math.min(MAX_PARTS, rows / MIN_ROWS_PER_PART));
    }

    /** The first row of part {@code p} of {@code parts} (and {@code start(rows, parts, parts)} = rows). */
    static int start(int rows, int parts, int p) {
        return (int) ((long) rows * p / parts);
    }

    /** Runs {@code part} for every part p in [0, parts), on several threads when there are several parts and workers. */
    static void run(int parts, int workers, IntConsumer part) {
        IntStream range = IntStream.range(0, parts);
        (parts > 1 && workers > 1 ? range.parallel() : range).forEach(part);
    }
}
