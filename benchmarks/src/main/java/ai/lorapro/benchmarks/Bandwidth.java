package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The machine's sustained memory bandwidth as the optimizer's passes see it: tensor operations over
 * arrays far larger than the last-level cache, each counted at the bytes it must move.
 *
 * <p>An array that fits (even partly) in the last-level cache, or one that is reused while still
 * hot, inflates the figure; so the arrays are at least {@link #MIN_BYTES} each and at least {@link
 * #LLC_FACTOR} times the largest cache the kernel exposes, and every operation sweeps the whole
 * array before it is timed again.
 */
final class Bandwidth {

    /** Smallest array measured, in bytes per array. */
    static final long MIN_BYTES = 512L << 20;
    /** How many times the last-level cache each array must exceed. */
    static final int LLC_FACTOR = 8;

    /** A measured operation. */
    static final class Result {
        final String op;
        final long elements;
        final int bytesPerElement;
        final double ms;
        final double minMs;
        final double gbPerS;

        Result(String op, long elements, int bytesPerElement, double[] ms) {
            this.op = op;
            this.elements = elements;
            this.bytesPerElement = bytesPerElement;
            this.ms = Timing.median(ms);
            this.minMs = Timing.min(ms);
            this.gbPerS = bytesPerElement * (double) elements / (this.ms * 1e6);
        }
    }

    private Bandwidth() {}

    /**
     * The largest cache size the kernel exposes under {@code /sys/devices/system/cpu/cpu0/cache}, or
     * -1 when it exposes none (as in some VMs).
     */
    static long lastLevelCacheBytes() {
        long largest = -1;
        Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache");
        if (!Files.isDirectory(dir)) {
            return -1;
        }
        try (DirectoryStream<Path> indices = Files.newDirectoryStream(dir, "index*")) {
            for (Path index : indices) {
                Path size = index.resolve("size");
                if (Files.isReadable(size)) {
                    largest = Math.max(largest, parseSize(Files.readString(size, StandardCharsets.US_ASCII).trim()));
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return largest;
    }

    private static long parseSize(String text) {
        String s = text.toUpperCase(Locale.ROOT);
        long unit = 1;
        if (s.endsWith("K")) {
            unit = 1L << 10;
        } else if (s.endsWith("M")) {
            unit = 1L << 20;
        } else if (s.endsWith("G")) {
            unit = 1L << 30;
        }
        return Long.parseLong(unit == 1 ? s : s.substring(0, s.length() - 1)) * unit;
    }

    /**
     * Bytes per array: at least {@link #MIN_BYTES}, at least {@link #LLC_FACTOR} times the exposed
     * last-level cache, and at least {@code requested}.
     */
    static long arrayBytes(long requested) {
        return Math.max(Math.max(MIN_BYTES, requested), LLC_FACTOR * Math.max(0, lastLevelCacheBytes()));
    }

    /**
     * Measures, on two fp32 arrays x and y of {@code elements} each: x += y in place (reads x and
     * y, writes x: 12 bytes per element), y[:] = x into the existing y (reads x, writes y: 8
     * bytes; a write-allocating cache also reads y, which is not counted), x *= c in place (8 bytes)
     * and a copy into a new array (8 bytes plus the first touch of its pages). Each figure is the
     * median of {@code timed} repetitions after {@code warmup}.
     */
    static List<Result> measure(NDManager manager, long elements, int warmup, int timed) {
        Shape shape = new Shape(elements);
        NDIndex all = new NDIndex(":");
        List<Result> results = new ArrayList<>();
        try (NDManager scope = manager.newSubManager();
                NDArray x = scope.randomUniform(0f, 1f, shape, DataType.FLOAT32);
                NDArray y = scope.randomUniform(0f, 1f, shape, DataType.FLOAT32)) {
            results.add(new Result("add-in-place", elements, 12, Timing.run(warmup, timed, () -> x.addi(y))));
            results.add(new Result("copy-into-existing", elements, 8, Timing.run(warmup, timed, () -> y.set(all, x))));
            if (!x.get(elements - 1).contentEquals(y.get(elements - 1))) {
                throw new IllegalStateException("y[:] = x did not copy");
            }
            results.add(new Result("scale-in-place", elements, 8, Timing.run(warmup, timed, () -> x.muli(1.0000001f))));
            results.add(
                    new Result("copy-new-array", elements, 8, Timing.run(1, Math.min(timed, 3), () -> x.duplicate().close())));
        }
        return results;
    }

    /** Elements per Java array chunk: the arrays of {@link #measureJava} are split so any size fits. */
    static final int CHUNK_ELEMENTS = 1 << 26;

    /**
     * x += y on two Java float arrays of {@code elements} each (12 bytes per element), the rows split
     * over all cores as the fused optimizer step splits them: the bandwidth plain Java loops reach.
     * Each array is held in chunks of {@link #CHUNK_ELEMENTS}, so it may exceed the 2^31 elements of
     * one Java array.
     *
     * @throws IllegalStateException if the heap cannot hold both arrays, naming the flag to raise it
     */
    static Result measureJava(long elements, int warmup, int timed) {
        long needed = 2 * elements * Float.BYTES;
        long heap = Runtime.getRuntime().maxMemory();
        if (needed > heap - (256L << 20)) {
            long llc = lastLevelCacheBytes();
            String why = llc > 0 && elements * Float.BYTES == LLC_FACTOR * llc
                    ? String.format(Locale.ROOT, " (%d x the last-level cache of %d MiB the kernel reports)", LLC_FACTOR,
                            llc >> 20)
                    : "";
            throw new IllegalStateException(String.format(Locale.ROOT,
                    "the Java bandwidth pass needs two arrays of %.2f GiB%s, more than the heap of %.2f GiB: "
                            + "raise it with JAVA_OPTS=-Xmx...", elements * Float.BYTES / (double) (1L << 30), why,
                    heap / (double) (1L << 30)));
        }
        float[][] x = chunks(elements, 1f);
        float[][] y = chunks(elements, 1e-7f);
        // the chunks are shared out over the cores in equal runs, as the fused step shares its rows
        int parts = Runtime.getRuntime().availableProcessors();
        Runnable add = () -> IntStream.range(0, parts).parallel().forEach(p -> {
            long from = elements * p / parts;
            long to = elements * (p + 1) / parts;
            for (long start = from; start < to; ) {
                int chunk = (int) (start / CHUNK_ELEMENTS);
                int offset = (int) (start % CHUNK_ELEMENTS);
                int end = (int) Math.min(x[chunk].length, offset + (to - start));
                addRange(x[chunk], y[chunk], offset, end);
                start += end - offset;
            }
        });
        return new Result("add-in-place-java", elements, 12, Timing.run(warmup, timed, add));
    }

    private static float[][] chunks(long elements, float value) {
        float[][] chunks = new float[Math.toIntExact((elements + CHUNK_ELEMENTS - 1) / CHUNK_ELEMENTS)][];
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = new float[(int) Math.min(CHUNK_ELEMENTS, elements - (long) c * CHUNK_ELEMENTS)];
            java.util.Arrays.fill(chunks[c], value);
        }
        return chunks;
    }

    private static void addRange(float[] x, float[] y, int from, int to) {
        for (int j = from; j < to; j++) {
            x[j] += y[j];
        }
    }
}
