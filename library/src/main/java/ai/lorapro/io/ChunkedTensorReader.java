package ai.lorapro.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads one tensor of a file into a new NDArray through a bounded buffer: a slice of at most
 * {@link #CHUNK_BYTES} is read, widened on the host when DJL cannot hold its type (BF16, F64 to
 * float32), converted to the target type by the engine and copied into place, then the buffer is
 * reused. Neither a memory mapping nor a heap copy of the whole tensor is made, so loading a large
 * state or model adds one tensor and one chunk to the process, and nothing for the garbage
 * collector to find later.
 */
final class ChunkedTensorReader {

    /** The largest slice read at a time. */
    static final int CHUNK_BYTES = 1 << 20;

    /** Reads {@code buffer.remaining()} bytes at a file position. */
    @FunctionalInterface
    interface Reader {
        void readFully(ByteBuffer buffer, long position) throws IOException;
    }

    private final Reader reader;
    /** The file, for messages. */
    private final String file;
    private final ByteBuffer raw = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
    /** Host-side values handed to the engine without a copy (torch.from_blob), reused per chunk. */
    private final ByteBuffer host = ByteBuffer.allocateDirect(2 * CHUNK_BYTES).order(ByteOrder.nativeOrder());
    /** A chunk's values as float32, when they are widened or checked on the host (made when first needed). */
    private float[] values;

    /**
     * @param reader reads bytes of the file
     * @param file the file, as messages name it
     */
    ChunkedTensorReader(Reader reader, String file) {
        this.reader = reader;
        this.file = file;
    }

    /**
     * Loads the tensor at {@code dataOffset + info.begin()}.
     *
     * @param manager where the array is created
     * @param info the tensor
     * @param dataOffset the file position of the data section
     * @param target the array's type (a float type for floating-point tensors)
     */
    NDArray load(NDManager manager, TensorInfo info, long dataOffset, DataType target) throws IOException {
        TensorDType dtype = info.dtype();
        // float64 goes through float32 unless it is to stay float64 (state that must come back exactly)
        boolean widen = dtype == TensorDType.BF16 || dtype == TensorDType.F64 && target != DataType.FLOAT64;
        DataType hostType = widen ? DataType.FLOAT32 : dtype.djlType();
        long count = info.elementCount();
        int perChunk = CHUNK_BYTES / dtype.byteSize();
        NDArray flat = manager.create(new Shape(count), target);
        try {
            for (long start = 0; start < count; start += perChunk) {
                int n = (int) Math.min(perChunk, count - start);
                raw.clear().limit(n * dtype.byteSize());
                reader.readFully(raw, dataOffset + info.begin() + start * dtype.byteSize());
                raw.flip();
                host.clear();
                fillHost(info, start, n, target);
                host.flip();
                try (NDArray chunk = manager.create(host, new Shape(n), hostType)) {
                    if (hostType == target) {
                        flat.set(new NDIndex("{}:{}", start, start + n), chunk);
                    } else {
                        try (NDArray converted = chunk.toType(target, false)) {
                            flat.set(new NDIndex("{}:{}", start, start + n), converted);
                        }
                    }
                }
            }
            NDArray shaped = flat.reshape(info.shape());
            flat.close();
            return shaped;
        } catch (IOException | RuntimeException e) {
            flat.close();
            throw e;
        }
    }

    /**
     * Copies the chunk's raw little-endian values to the host buffer: BF16 and F64 widened to
     * float32, and float values bound for float16 checked against its range (PyTorch's conversion
     * would turn what it cannot hold into infinity, and the model into NaN, without a word).
     */
    private void fillHost(TensorInfo info, long start, int n, DataType target) {
        TensorDType dtype = info.dtype();
        boolean toFloat16 = target == DataType.FLOAT16 && dtype.isFloating() && dtype != TensorDType.F16;
        if (dtype == TensorDType.BF16 || dtype == TensorDType.F64 && target != DataType.FLOAT64 || toFloat16) {
            if (values == null) {
                values = new float[host.capacity() / Float.BYTES];
            }
            FloatChunks.decode(raw, dtype, values, n);
            if (toFloat16) {
                FloatChunks.requireFits(file + ": tensor '" + info.name() + "'", values, n, start, TensorDType.F16);
            }
            host.asFloatBuffer().put(values, 0, n);
            host.position(n * Float.BYTES);
            return;
        }
        // same bytes; only the byte order may differ
        int size = dtype.byteSize();
        if (host.order() == ByteOrder.LITTLE_ENDIAN || size == 1) {
            host.put(raw);
        } else {
            for (int i = 0; i < n * size; i += size) {
                for (int b = size - 1; b >= 0; b--) {
                    host.put(raw.get(i + b));
                }
            }
        }
    }
}
