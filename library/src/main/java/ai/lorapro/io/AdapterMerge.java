package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Writes a base checkpoint with a PEFT adapter folded in, one tensor at a time: W0 + s B A for each
 * adapted module's weight, the adapter's tensor for each {@code modules_to_save} parameter, and
 * every other tensor copied. Each tensor keeps its dtype unless a float type is asked for; a merged
 * weight is computed in double from the stored values, rounded to float32 and then to its dtype
 * (to nearest even each time). Where a {@code modules_to_save} tensor replaces an adapted weight,
 * the replacement is W0, as {@link PeftAdapter#load} makes it.
 *
 * <p>Memory is one module's factors and a buffer of {@link #CHUNK_BYTES} (every tensor, an
 * adapter's replacement too, is read a few rows at a time), whatever the size of the model: a 7B
 * checkpoint merges in the memory of a 1 MB one. Loading the model to merge it, as {@code
 * LoraLinear.merge} does, needs the whole model in float32.
 *
 * <p>Everything that can be refused is refused before the first byte is written: an adapter tensor
 * holding NaN or infinity, a factor whose shape disagrees with its weight. A merged value that
 * overflows its dtype (float16's 65504, say) can only be found while writing; it fails the write,
 * naming the tensor, and the caller's atomic publication leaves nothing behind.
 */
public final class AdapterMerge {

    /** The most bytes of a tensor read or written at a time. */
    static final int CHUNK_BYTES = 1 << 20;

    /** Reports each tensor written. */
    @FunctionalInterface
    public interface Progress {
        /**
         * Called after each tensor.
         *
         * @param tensors tensors written so far
         * @param total tensors to write
         * @param bytes tensor bytes written so far
         * @param totalBytes tensor bytes to write
         */
        void written(int tensors, int total, long bytes, long totalBytes);
    }

    /**
     * What was written.
     *
     * @param files the safetensors files, in order
     * @param bytes the tensor bytes in them
     */
    public record Written(List<String> files, long bytes) {}

    private AdapterMerge() {}

    /**
     * Writes the merged checkpoint into {@code dir} (as {@link ShardedSafetensorsWriter} does: one
     * {@code model.safetensors}, or shards and their index past {@code maxShardBytes}).
     *
     * @param base the base checkpoint, already checked against the model the adapter was laid out
     *     on
     * @param tensors the tensors to write, each in {@code base}: the model's parameters (what a
     *     model ignores, such as stale buffers or aliases of a tied table, is better left out: an
     *     alias would keep the old values of a table the adapter replaces)
     * @param adapter where the adapter's tensors go ({@link PeftAdapter#layout})
     * @param floatType the dtype of every floating-point tensor written (F32, F16, BF16 or F64), or
     *     {@code null} to keep each tensor's own
     * @return the files and bytes written
     * @throws InvalidInputException if an adapter tensor holds NaN or infinity, or a merged weight
     *     overflows its dtype
     * @throws IOException if a file cannot be written
     */
    public static Written write(HfCheckpoint base, Collection<String> tensors, PeftAdapter.Layout adapter,
            TensorDType floatType, Path dir, long maxShardBytes, Progress progress) throws IOException {
        if (floatType != null && !floatType.isFloating()) {
            throw new IllegalArgumentException("floatType must be a floating-point dtype, got " + floatType);
        }
        try (SafetensorsFile file = SafetensorsFile.open(adapter.weights())) {
            Map<String, PeftAdapter.LoraKeys> factorsOf = new HashMap<>();
            adapter.lora().forEach((module, keys) -> factorsOf.put(module + ".weight", keys));
            Map<String, String> replacementOf = new HashMap<>();
            adapter.saved().forEach((key, parameter) -> replacementOf.put(parameter, key));
            TensorBytes fromAdapter = file::read;
            for (PeftAdapter.LoraKeys keys : adapter.lora().values()) {
                requireFinite(file, keys.a());
                requireFinite(file, keys.b());
            }
            for (String key : replacementOf.values()) {
                requireFinite(file, key);
            }
            Set<String> named = new TreeSet<>(factorsOf.keySet());
            named.addAll(replacementOf.keySet());
            for (String name : named) {
                if (!tensors.contains(name)) {
                    throw new IllegalArgumentException("the adapter's layout names tensor '" + name + "', which is not"
                            + " among the tensors to write");
                }
            }

            List<StreamedTensor> streamed = new ArrayList<>();
            for (String name : tensors) {
                TensorInfo info = base.info(name);
                TensorDType type = floatType != null && info.dtype().isFloating() ? floatType : info.dtype();
                StreamedTensor.ByteProducer producer;
                String replacement = replacementOf.get(name);
                // W0: the checkpoint's tensor, or the adapter's replacement, as PeftAdapter.load makes it
                TensorBytes w0 = replacement == null ? base::read : fromAdapter;
                TensorInfo w0Info = replacement == null ? info : file.info(replacement);
                if (factorsOf.containsKey(name)) {
                    producer = merged(w0, w0Info, name, file, factorsOf.get(name), adapter.config().getScaling(),
                            type);
                } else if (replacement == null && type == info.dtype()) {
                    producer = copied(base, info);
                } else {
                    producer = converted(w0, w0Info, name, type);
                }
                streamed.add(new StreamedTensor(name, type, info.shape().getShape(), producer));
            }
            long totalBytes = streamed.stream().mapToLong(StreamedTensor::byteLength).sum();
            List<String> files = ShardedSafetensorsWriter.write(dir, reporting(streamed, totalBytes, progress),
                    maxShardBytes, Map.of("merged_by", "lorapro merge"));
            return new Written(files, totalBytes);
        }
    }

    /** {@code tensors}, each telling {@code progress} when it has been written (in whatever order). */
    private static List<StreamedTensor> reporting(List<StreamedTensor> tensors, long totalBytes, Progress progress) {
        if (progress == null) {
            return tensors;
        }
        List<StreamedTensor> reported = new ArrayList<>();
        long[] done = {0, 0}; // tensors, bytes
        for (StreamedTensor t : tensors) {
            reported.add(new StreamedTensor(t.name(), t.dtype(), t.shape(), out -> {
                t.bytes().writeTo(out);
                done[0]++;
                done[1] += t.byteLength();
                progress.written((int) done[0], tensors.size(), done[1], totalBytes);
            }));
        }
        return reported;
    }

    /** Reads bytes of a named tensor from {@code offset} on into {@code into} (a checkpoint or the adapter). */
    @FunctionalInterface
    private interface TensorBytes {
        void read(String name, long offset, ByteBuffer into);
    }

    /** Receives a tensor's values a chunk at a time. */
    @FunctionalInterface
    private interface Chunk {
        void accept(float[] values, int n, long first) throws IOException;
    }

    /** Reads tensor {@code info} from {@code source} as float32, {@code perChunk} values at a time. */
    private static void readChunks(TensorBytes source, TensorInfo info, int perChunk, Chunk chunk)
            throws IOException {
        int size = info.dtype().byteSize();
        ByteBuffer raw = ByteBuffer.allocate(perChunk * size).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[perChunk];
        long count = info.elementCount();
        for (long from = 0; from < count; from += perChunk) {
            int n = (int) Math.min(perChunk, count - from);
            raw.clear().limit(n * size);
            source.read(info.name(), from * size, raw);
            FloatChunks.decode(raw, info.dtype(), values, n);
            chunk.accept(values, n, from);
        }
    }

    private static void requireFinite(SafetensorsFile file, String key) {
        TensorInfo info = file.info(key);
        try {
            readChunks(file::read, info, CHUNK_BYTES / info.dtype().byteSize(), (values, n, first) -> {
                for (int i = 0; i < n; i++) {
                    if (!Float.isFinite(values[i])) {
                        throw new InvalidInputException(file.path() + ": tensor '" + key + "' holds NaN or infinity");
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Weight {@code name} as W0 + s B A, a few rows at a time, W0 read from {@code w0} (tensor
     * {@code info}: the checkpoint's, or the adapter's replacement).
     */
    private static StreamedTensor.ByteProducer merged(TensorBytes w0, TensorInfo info, String name,
            SafetensorsFile file, PeftAdapter.LoraKeys keys, double scaling, TensorDType type) {
        long[] shape = info.shape().getShape();
        long[] aShape = file.info(keys.a()).shape().getShape();
        long[] bShape = file.info(keys.b()).shape().getShape();
        if (shape.length != 2 || !info.dtype().isFloating() || aShape.length != 2 || bShape.length != 2
                || aShape[1] != shape[1] || bShape[0] != shape[0] || aShape[0] != bShape[1]) {
            throw new IllegalArgumentException("tensor '" + name + "' " + info.shape() + " (" + info.dtype()
                    + ") does not fit " + keys.a() + " and " + keys.b());
        }
        int cols = Math.toIntExact(shape[1]);
        int rank = Math.toIntExact(aShape[0]);
        float largest = FloatChunks.largestFinite(type);
        return out -> {
            float[] a = file.floats(keys.a());
            float[] b = file.floats(keys.b());
            int rowsPerChunk = Math.max(1, CHUNK_BYTES / (cols * Math.max(info.dtype().byteSize(), type.byteSize())));
            byte[] encoded = new byte[rowsPerChunk * cols * type.byteSize()];
            double[] delta = new double[cols];
            // whole rows per chunk: a chunk starts at row first / cols
            readChunks(w0, info, rowsPerChunk * cols, (w, n, first) -> {
                int from = (int) (first / cols);
                for (int i = 0; i < n / cols; i++) {
                    Arrays.fill(delta, 0);
                    int row = (from + i) * rank;
                    for (int k = 0; k < rank; k++) {
                        double c = b[row + k];
                        int ak = k * cols;
                        for (int j = 0; j < cols; j++) {
                            delta[j] += c * a[ak + j];
                        }
                    }
                    int at = i * cols;
                    for (int j = 0; j < cols; j++) {
                        float before = w[at + j];
                        float merged = (float) (before + scaling * delta[j]);
                        if (!(Math.abs(merged) <= largest) && Float.isFinite(before)) {
                            throw new InvalidInputException("merging the adapter into '" + name + "' gives "
                                    + before + " + " + (float) (scaling * delta[j]) + " at [" + (from + i) + ", " + j
                                    + "], which " + type + " cannot hold");
                        }
                        w[at + j] = merged;
                    }
                }
                FloatChunks.encode(w, n, type, encoded);
                out.write(encoded, 0, n * type.byteSize());
            });
        };
    }

    /** Tensor {@code info} of {@code source}, written as tensor {@code name} of {@code type}. */
    private static StreamedTensor.ByteProducer converted(TensorBytes source, TensorInfo info, String name,
            TensorDType type) {
        return out -> {
            int perChunk = CHUNK_BYTES / Math.max(info.dtype().byteSize(), type.byteSize());
            byte[] encoded = new byte[perChunk * type.byteSize()];
            readChunks(source, info, perChunk, (values, n, first) -> write(name, values, n, first, type, encoded, out));
        };
    }

    /**
     * Writes {@code values[0, n)}, elements {@code first} on of tensor {@code name}, as {@code
     * type}, refusing a finite value that {@code type} cannot hold.
     */
    private static void write(String name, float[] values, int n, long first, TensorDType type, byte[] encoded,
            OutputStream out) throws IOException {
        FloatChunks.requireFits("tensor '" + name + "'", values, n, first, type);
        FloatChunks.encode(values, n, type, encoded);
        out.write(encoded, 0, n * type.byteSize());
    }

    /** A tensor of the checkpoint, byte for byte. */
    private static StreamedTensor.ByteProducer copied(HfCheckpoint base, TensorInfo info) {
        return out -> {
            ByteBuffer raw = ByteBuffer.allocate(CHUNK_BYTES);
            long length = info.byteLength();
            for (long from = 0; from < length; from += CHUNK_BYTES) {
                int n = (int) Math.min(CHUNK_BYTES, length - from);
                raw.clear().limit(n);
                base.read(info.name(), from, raw);
                out.write(raw.array(), 0, n);
            }
        };
    }
}
