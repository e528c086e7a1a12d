package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The machine's streaming bandwidth as the optimizer sees it: in-place tensor operations over an
 * array far larger than the caches, each counted at the bytes it must move.
 */
final class Bandwidth {

    /** A measured operation. */
    static final class Result {
        final String op;
        final int bytesPerElement;
        final double ms;
        final double gbPerS;

        Result(String op, int bytesPerElement, double ms, double gbPerS) {
            this.op = op;
            this.bytesPerElement = bytesPerElement;
            this.ms = ms;
            this.gbPerS = gbPerS;
        }
    }

    private Bandwidth() {}

    /**
     * Measures x *= c (read and write: 8 bytes per float), x += y (12 bytes) and y = copy(x) (8
     * bytes plus the first touch of new pages) on {@code elements} floats.
     */
    static Result[] measure(NDManager manager, long elements, int warmup, int timed) {
        Shape shape = new Shape(elements);
        try (NDManager scope = manager.newSubManager();
                NDArray x = scope.randomUniform(0f, 1f, shape, DataType.FLOAT32);
                NDArray y = scope.randomUniform(0f, 1f, shape, DataType.FLOAT32)) {
            double scale = Timing.median(Timing.run(warmup, timed, () -> x.muli(1.0000001f)));
            double add = Timing.median(Timing.run(warmup, timed, () -> x.addi(y)));
            double copy = Timing.median(Timing.run(warmup, timed, () -> x.duplicate().close()));
            return new Result[] {
                result("scale-in-place", 8, scale, elements),
                result("add-in-place", 12, add, elements),
                result("copy-new-array", 8, copy, elements)
            };
        }
    }

    private static Result result(String op, int bytesPerElement, double ms, long elements) {
        return new Result(op, bytesPerElement, ms, bytesPerElement * (double) elements / (ms * 1e6));
    }
}
