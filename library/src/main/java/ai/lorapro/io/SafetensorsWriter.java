package ai.lorapro.io;

import ai.djl.ndarray.NDArray;


import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * Collects named tensors and writes them as one {@code .safetensors} file, atomically.
 *
 * <p>The layout follows the reference implementation: an 8-byte little-endian header length, a
 * compact JSON header whose {@code __metadata__} holds {@code "format": "pt"} plus the caller's
 * strings, padded with spaces to a multiple of 8 bytes, then the tensor bytes with no gaps, in
 * the reference's order ({@link TensorDType#fileOrder}: wider dtypes first, then names). NDArrays are read only when {@link #write(Path)} runs, one at a time, so they
 * must stay open until then; {@link #addContiguous} writes them through a 64 KiB buffer without
 * any copy of a whole tensor.
 */
public final class SafetensorsWriter {

    /** Bytes copied at a time from a tensor's memory to the file. */
    private static final int CHUNK_BYTES = 1 << 16;

    private final Map<String, Entry> tensors = new TreeMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** A writer with {@code __metadata__ = {"format": "pt"}} and no tensors. */
    public SafetensorsWriter() {
        metadata.put("format", "pt");
    }

    /** Writes {@code arrays} (each in its own dtype) and {@code metadata} to {@code path}. */
    public static void write(Path path, Map<String, NDArray> arrays, Map<String, String> metadata) {
        SafetensorsWriter w = new SafetensorsWriter();
        metadata.forEach(w::putMetadata);
        arrays.forEach(w::add);
        w.write(path);
    }

    /** Adds a string to {@code __metadata__} (replacing {@code format} is allowed). */
    public SafetensorsWriter putMetadata(String key, String value) {
        metadata.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return this;
    }

    /**
     * Adds an NDArray in its own dtype (F32, F16, F64, I64, I32, I8, U8 or BOOL). Its bytes are
     * copied to the host when {@link #write(Path)} runs, one tensor at a time.
     */
    public SafetensorsWriter add(String name, NDArray array) {
        TensorDType dtype = dtypeOf(name, array);
        long[] shape = array.getShape().getShape();
        return put(name, new Entry(dtype, shape, () -> array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN)));
    }

    /**
     * Adds an NDArray like {@link #add(String, NDArray)}, but on the CPU its bytes are written
     * straight from the tensor's memory, so writing a large state copies no whole tensor. The
     * array must be contiguous (parameters and optimizer state are; a transposed or sliced view
     * is not) and stay open until {@link #write(Path)} returns.
     */
    public SafetensorsWriter addContiguous(String name, NDArray array) {
        if (array.getDevice().isGpu()) {
            return add(name, array);
        }
        TensorDType dtype = dtypeOf(name, array);
        long[] shape = array.getShape().getShape();
        return put(name, new Entry(dtype, shape, () -> array.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN)));
    }

    /**
     * Adds a tensor that is made only when the file is written, then freed: for state kept in
     * another form (packed bf16 moments written as float32), so that one such tensor at a time is
     * ever materialised.
     *
     * @param name the tensor's name
     * @param dtype its type in the file
     * @param shape its shape
     * @param make makes the array when its bytes are written; the writer closes it
     */
    public SafetensorsWriter addLater(String name, TensorDType dtype, long[] shape, Supplier<NDArray> make) {
        return put(name, new Entry(dtype, shape, () -> {
            try (NDArray array = make.get()) {
                if (!Arrays.equals(array.getShape().getShape(), shape) || TensorDType.of(array.getDataType()) != dtype) {
                    throw new IllegalStateException("tensor '" + name + "' was made as " + array.getShape() + " "
                            + array.getDataType() + ", announced as " + Arrays.toString(shape) + " " + dtype);
                }
                return array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN); // a copy: the array is closed now
            }
        }));
    }

    private static TensorDType dtypeOf(String name, NDArray array) {
        try {
            return TensorDType.of(array.getDataType());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("tensor '" + name + "': " + e.getMessage(), e);
        }
    }

    /** Adds float values as F32, F16 or BF16 (rounded to nearest even on the host). */
    public SafetensorsWriter add(String name, float[] values, long[] shape, TensorDType dtype) {
        checkCount(name, values.length, shape);
        float[] copy = values.clone();
        switch (dtype) {
            case F32:
                return put(name, new Entry(dtype, shape, () -> {
                    ByteBuffer b = littleEndian(4L * copy.length);
                    b.asFloatBuffer().put(copy);
                    return b;
                }));
            case F16:
            case BF16:
                return put(name, new Entry(dtype, shape, () -> {
                    ByteBuffer b = littleEndian(2L * copy.length);
                    for (int i = 0; i < copy.length; i++) {
                        short h = dtype == TensorDType.F16
                                ? HalfFloats.floatToF16(copy[i])
                                : HalfFloats.floatToBf16(copy[i]);
                        b.putShort(2 * i, h);
                    }
                    return b;
                }));
            default:
                throw new IllegalArgumentException(
                        "tensor '" + name + "': float values cannot be stored as " + dtype);
        }
    }

    /** Adds float values as F32. */
    public SafetensorsWriter add(String name, float[] values, long... shape) {
        return add(name, values, shape, TensorDType.F32);
    }

    /** Adds int64 values (I64). */
    public SafetensorsWriter add(String name, long[] values, long... shape) {
        checkCount(name, values.length, shape);
        long[] copy = values.clone();
        return put(name, new Entry(TensorDType.I64, shape, () -> {
            ByteBuffer b = littleEndian(8L * copy.length);
            b.asLongBuffer().put(copy);
            return b;
        }));
    }

    /** Adds int32 values (I32). */
    public SafetensorsWriter add(String name, int[] values, long... shape) {
        checkCount(name, values.length, shape);
        int[] copy = values.clone();
        return put(name, new Entry(TensorDType.I32, shape, () -> {
            ByteBuffer b = littleEndian(4L * copy.length);
            b.asIntBuffer().put(copy);
            return b;
        }));
    }

    /**
     * Adds a tensor's raw little-endian bytes as they are, e.g. to copy a tensor between files
     * without converting it. The buffer's remaining bytes must fill {@code shape} exactly and must
     * not change before {@link #write(Path)}.
     */
    public SafetensorsWriter addRaw(String name, TensorDType dtype, long[] shape, ByteBuffer bytes) {
        Entry entry = new Entry(dtype, shape, bytes::duplicate);
        if (bytes.remaining() != entry.byteLength()) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': " + bytes.remaining() + " bytes do not fill shape "
                            + Arrays.toString(shape) + " of " + dtype);
        }
        return put(name, entry);
    }

    /** The number of tensors added so far. */
    public int size() {
        return tensors.size();
    }

    /**
     * Writes the file atomically: to a temporary file in the same directory, then renamed over
     * {@code path}. On failure nothing is left at {@code path} that was not there before.
     */
    public void write(Path path) {
        AtomicFiles.write(path, this::writeTo);
    }

    /**
     * Writes the whole file (header, then the tensors' bytes) to {@code out}, e.g. for {@link
     * AtomicFiles#writeAll} with the files that go with it.
     */
    public void writeTo(OutputStream out) throws IOException {
        List<Map.Entry<String, Entry>> ordered = new ArrayList<>(tensors.entrySet());
        ordered.sort(TensorDType.<Map.Entry<String, Entry>>fileOrder(e -> e.getValue().dtype, Map.Entry::getKey));
        Map<String, SafetensorsHeader.Layout> layouts = new LinkedHashMap<>();
        ordered.forEach(e -> layouts.put(e.getKey(), new SafetensorsHeader.Layout(e.getValue().dtype, e.getValue().shape)));
        out.write(SafetensorsHeader.encode(layouts, metadata));
        byte[] chunk = new byte[CHUNK_BYTES];
        for (Map.Entry<String, Entry> e : ordered) {
            writeTensor(out, e.getKey(), e.getValue(), chunk);
        }
    }

    private static void writeTensor(OutputStream out, String name, Entry t, byte[] chunk) throws IOException {
        ByteBuffer bytes = t.bytes.get();
        if (bytes.remaining() != t.byteLength()) {
            throw new IOException(
                    "tensor '" + name + "' has " + bytes.remaining() + " bytes, expected " + t.byteLength());
        }
        if (bytes.hasArray()) {
            out.write(bytes.array(), bytes.arrayOffset() + bytes.position(), bytes.remaining());
        } else {
            while (bytes.hasRemaining()) {
                int n = Math.min(chunk.length, bytes.remaining());
                bytes.get(chunk, 0, n);
                out.write(chunk, 0, n);
            }
        }
    }

    private SafetensorsWriter put(String name, Entry entry) {
        Objects.requireNonNull(name, "name");
        if ("__metadata__".equals(name)) {
            throw new IllegalArgumentException("__metadata__ is reserved and cannot name a tensor");
        }
        for (long d : entry.shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension");
            }
        }
        if (tensors.putIfAbsent(name, entry) != null) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        return this;
    }

    private static void checkCount(String name, int count, long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != count) {
            throw new IllegalArgumentException(
                    "tensor '" + name + "': " + count + " values do not fill shape " + Arrays.toString(shape));
        }
    }

    private static ByteBuffer littleEndian(long size) {
        if (size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a single tensor over 2 GiB is not supported");
        }
        return ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Reads an NDArray's or array's bytes lazily, so that only one tensor is on the host at a time. */
    @FunctionalInterface
    private interface ByteSource {
        ByteBuffer get();
    }

    private static final class Entry {
        final TensorDType dtype;
        final long[] shape;
        final ByteSource bytes;

        Entry(TensorDType dtype, long[] shape, ByteSource bytes) {
            this.dtype = dtype;
            this.shape = shape.clone();
            this.bytes = bytes;
        }

        long byteLength() {
            long n = dtype.byteSize();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }
}
