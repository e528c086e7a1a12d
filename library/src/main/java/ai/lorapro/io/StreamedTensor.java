package ai.lorapro.io;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A tensor whose bytes are produced while the file is written, so that a writer never holds more
 * than a bounded buffer of it: see {@link ShardedSafetensorsWriter}.
 *
 * @param name the tensor's name in the file
 * @param dtype its safetensors dtype
 * @param shape its shape
 * @param bytes writes exactly {@code byteLength()} little-endian bytes
 */
public record StreamedTensor(String name, TensorDType dtype, long[] shape, ByteProducer bytes) {

    /** Writes a tensor's bytes to a stream, typically in chunks generated on the fly. */
    @FunctionalInterface
    public interface ByteProducer {
        /** Writes the tensor's bytes to {@code out} (not closed). */
        void writeTo(OutputStream out) throws IOException;
    }

    /** A defensive copy of the shape. */
    public StreamedTensor {
        shape = shape.clone();
    }

    /** The number of elements. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** The size of the tensor's data in bytes. */
    public long byteLength() {
        return elementCount() * dtype.byteSize();
    }
}
