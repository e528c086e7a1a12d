package ai.lorapro.io;

import ai.djl.ndarray.types.Shape;

/**
 * One tensor's entry in a safetensors header: its dtype, shape and byte range relative to the
 * start of the data section.
 */
public final class TensorInfo {

    private final String name;
    private final TensorDType dtype;
    private final long[] shape;
    private final long begin;
    private final long end;

    TensorInfo(String name, TensorDType dtype, long[] shape, long begin, long end) {
        this.name = name;
        this.dtype = dtype;
        this.shape = shape.clone();
        this.begin = begin;
        this.end = end;
    }

    /** The tensor's name. */
    public String name() {
        return name;
    }

    /** The stored dtype. */
    public TensorDType dtype() {
        return dtype;
    }

    /** The shape as a DJL {@link Shape}. */
    public Shape shape() {
        return new Shape(shape);
    }

    /** Number of elements. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** First byte, relative to the data section. */
    public long begin() {
        return begin;
    }

    /** One past the last byte, relative to the data section. */
    public long end() {
        return end;
    }

    /** Number of bytes. */
    public long byteLength() {
        return end - begin;
    }
}
