package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * Row access to an m x n moment held in a CPU tensor, without copying the tensor: the rows are read
 * and written in place through direct buffers over the tensor's own memory (DJL's PyTorch engine
 * hands out a contiguous CPU tensor's data as a direct {@link ByteBuffer}).
 *
 * <p>Two storages: a FLOAT32 tensor of m x n, or a UINT8 tensor of m x 2n holding bfloat16 bit
 * patterns ({@link Bf16}) in native byte order, which is how the optimizer keeps bf16 moments since
 * DJL has no bfloat16 arrays. One buffer addresses at most 2 GiB, so the rows are split into chunks
 * of at most {@link #CHUNK_BYTES}.
 *
 * <p>The tensor must be contiguous and outlive this object; {@link StateStore} creates its arrays
 * that way. Reading and writing rows is thread safe for distinct rows, each thread using its own
 * {@link Cursor}.
 */
final class MomentRows {

    /** Bytes per direct buffer (a chunk of whole rows). */
    static final long CHUNK_BYTES = 1L << 30;

    private final long rows;
    private final int cols;
    private final boolean bf16;
    private final int rowsPerChunk;
    private final FloatBuffer[] floatChunks;
    private final ShortBuffer[] shortChunks;
    /** The same chunks as bytes in native order, for kernels that load vectors from them. */
    private final ByteBuffer[] byteChunks;

    private MomentRows(NDArray tensor, long chunkBytes) {
        if (!Device.Type.CPU.equals(tensor.getDevice().getDeviceType())) {
            throw new IllegalArgumentException("moment rows need a CPU tensor, got " + tensor.getDevice());
        }
        Shape shape = tensor.getShape();
        if (shape.dimension() != 2) {
            throw new IllegalArgumentException("moment rows need a 2-D tensor, got " + shape);
        }
        DataType type = tensor.getDataType();
        if (type == DataType.FLOAT32) {
            bf16 = false;
            cols = Math.toIntExact(shape.get(1));
        } else if (type == DataType.UINT8 && shape.get(1) % Short.BYTES == 0) {
            bf16 = true;
            cols = Math.toIntExact(shape.get(1) / Short.BYTES);
        } else {
            throw new IllegalArgumentException("moments are FLOAT32 or packed bf16 (UINT8 m x 2n), got " + type + " " + shape);
        }
        rows = shape.get(0);
        long rowBytes = shape.get(1) * type.getNumOfBytes();
        rowsPerChunk = (int) Math.max(1, Math.min(rows, chunkBytes / rowBytes));
        int chunks = Math.toIntExact((rows + rowsPerChunk - 1) / rowsPerChunk);
        floatChunks = bf16 ? null : new FloatBuffer[chunks];
        shortChunks = bf16 ? new ShortBuffer[chunks] : null;
        byteChunks = new ByteBuffer[chunks];
        for (int c = 0; c < chunks; c++) {
            long start = (long) c * rowsPerChunk;
            long end = Math.min(rows, start + rowsPerChunk);
            ByteBuffer bytes = directBytes(tensor, start, end, rowBytes);
            byteChunks[c] = bytes;
            if (bf16) {
                shortChunks[c] = bytes.asShortBuffer();
            } else {
                floatChunks[c] = bytes.asFloatBuffer();
            }
        }
    }

    /** Row access to {@code tensor}: FLOAT32 m x n, or packed bf16 (UINT8 m x 2n). */
    static MomentRows of(NDArray tensor) {
        return new MomentRows(tensor, CHUNK_BYTES);
    }

    /** {@link #of(NDArray)} with buffers of at most {@code chunkBytes} (at least one row): for tests. */
    static MomentRows of(NDArray tensor, long chunkBytes) {
        return new MomentRows(tensor, chunkBytes);
    }

    /** The shape of the UINT8 tensor that packs an m x n bf16 moment. */
    static Shape packedShape(Shape logical) {
        return new Shape(logical.get(0), logical.get(1) * Short.BYTES);
    }

    /** Rows [start, end) of {@code tensor} as a direct buffer over the tensor's memory. */
    private static ByteBuffer directBytes(NDArray tensor, long start, long end, long rowBytes) {
        boolean whole = start == 0 && end == tensor.getShape().get(0);
        NDArray view = whole ? tensor : tensor.get(new NDIndex("{}:{}", start, end));
        try {
            ByteBuffer bytes = view.toByteBuffer(true);
            // a heap buffer would be a copy: writes to it would never reach the tensor
            if (!bytes.isDirect() || bytes.capacity() != (end - start) * rowBytes) {
                throw new IllegalStateException("the engine did not expose the tensor's memory directly");
            }
            return bytes.order(ByteOrder.nativeOrder());
        } finally {
            if (!whole) {
                // the view shares the tensor's storage: closing it frees nothing the buffer uses
                view.close();
            }
        }
    }

    /** The number of rows, m. */
    long rows() {
        return rows;
    }

    /** The number of columns, n. */
    int cols() {
        return cols;
    }

    /** Whether the rows are stored as bfloat16. */
    boolean isBf16() {
        return bf16;
    }

    /**
     * The direct buffer (native byte order) that holds element {@code offset} of the row-major
     * moment, with the rest of its row; {@link #byteIndex} gives the element's place in it. Its
     * absolute get and put methods may be used from several threads on distinct rows.
     */
    ByteBuffer bytesOf(long offset) {
        return byteChunks[chunkOf(offset)];
    }

    /** The number of direct buffers the rows are split into. */
    int chunkCount() {
        return byteChunks.length;
    }

    /** Direct buffer {@code c} (native byte order). */
    ByteBuffer chunk(int c) {
        return byteChunks[c];
    }

    /** How many rows from {@code row} on lie in the same direct buffer as {@code row}. */
    long rowsInChunkFrom(long row) {
        long end = Math.min(rows, (row / rowsPerChunk + 1) * rowsPerChunk);
        return end - row;
    }

    /** The index of the buffer that holds element {@code offset} ({@link #bytesOf} is that buffer). */
    int chunkOf(long offset) {
        return (int) (offset / cols / rowsPerChunk);
    }

    /** The index in {@link #bytesOf}{@code (offset)} of the first byte of element {@code offset}. */
    int byteIndex(long offset) {
        long inChunk = offset - (long) chunkOf(offset) * rowsPerChunk * cols;
        return (int) (inChunk * (bf16 ? Short.BYTES : Float.BYTES));
    }

    /** A reader and writer of rows with its own scratch, for one thread. */
    Cursor cursor() {
        return new Cursor();
    }

    /** Reads and writes runs of elements within a row as fp32; not thread safe (one per thread). */
    final class Cursor {
        private final short[] packed = bf16 ? new short[cols] : null;

        /** Copies elements [offset, offset + len) of the row-major moment into {@code out[0, len)}. */
        void read(long offset, float[] out, int len) {
            int chunk = chunkOf(offset);
            int at = (int) (offset - (long) chunk * rowsPerChunk * cols);
            if (!bf16) {
                floatChunks[chunk].get(at, out, 0, len);
                return;
            }
            short[] packed = this.packed;
            shortChunks[chunk].get(at, packed, 0, len);
            for (int j = 0; j < len; j++) {
                out[j] = Bf16.decode(packed[j]);
            }
        }

        /**
         * Stores {@code values[0, len)} as elements [offset, offset + len); bf16 storage rounds to
         * nearest even, and with {@code variance} keeps positive values positive ({@link
         * Bf16#encodeVariance}). A run must not cross a row.
         */
        void write(long offset, float[] values, int len, boolean variance) {
            int chunk = chunkOf(offset);
            int at = (int) (offset - (long) chunk * rowsPerChunk * cols);
            if (!bf16) {
                floatChunks[chunk].put(at, values, 0, len);
                return;
            }
            short[] packed = this.packed;
            if (variance) {
                for (int j = 0; j < len; j++) {
                    packed[j] = Bf16.encodeVariance(values[j]);
                }
            } else {
                for (int j = 0; j < len; j++) {
                    packed[j] = Bf16.encode(values[j]);
                }
            }
            shortChunks[chunk].put(at, packed, 0, len);
        }

        private int chunkOf(long offset) {
            return (int) (offset / cols / rowsPerChunk);
        }
    }

    /**
     * Copies every row of {@code from} into {@code to} (same m x n), converting between storages;
     * with {@code variance}, bf16 storage keeps positive values positive.
     */
    static void copy(MomentRows from, MomentRows to, boolean variance) {
        if (from.rows != to.rows || from.cols != to.cols) {
            throw new IllegalArgumentException(
                    "moment shapes differ: " + from.rows + "x" + from.cols + " and " + to.rows + "x" + to.cols);
        }
        float[] row = new float[from.cols];
        Cursor reader = from.cursor();
        Cursor writer = to.cursor();
        for (long i = 0; i < from.rows; i++) {
            reader.read(i * from.cols, row, from.cols);
            writer.write(i * from.cols, row, from.cols, variance);
        }
    }
}
