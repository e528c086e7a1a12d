package ai.lorapro.optim;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Vector loads and stores on the moments' direct buffers ({@link MomentRows}), by whichever API
 * the running JDK's {@code jdk.incubator.vector} has: Java 17 to 19 load vectors from a {@link
 * ByteBuffer}; Java 20 removed those methods for loads from a {@code java.lang.foreign.MemorySegment}
 * over the same memory. The library is compiled for Java 17, where that class does not exist, so
 * the segment methods are reached through method handles held in static finals, which the JIT
 * inlines like direct calls (the kernel then runs as fast as with direct calls; measured on Java 25,
 * docs/benchmarks.md).
 *
 * <p>A kernel asks for a {@link #region} once per buffer, then passes it with a byte index to the
 * loads and stores. {@link #ACCESS} is chosen once, when the class loads; on a JDK with neither API
 * loading fails and {@link FusedKernels} runs the plain loops.
 */
abstract class MomentVectors {

    /** The access of this JDK. */
    static final MomentVectors ACCESS = choose();

    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** The object the loads and stores take for {@code buffer}: the buffer itself, or a segment over it. */
    abstract Object region(ByteBuffer buffer);

    /** The floats at byte {@code index} of {@code region}, in native order. */
    abstract FloatVector loadFloats(VectorSpecies<Float> species, Object region, long index);

    /** Stores {@code vector} at byte {@code index} of {@code region}, in native order. */
    abstract void store(FloatVector vector, Object region, long index);

    /** The shorts at byte {@code index} of {@code region}, in native order. */
    abstract ShortVector loadShorts(VectorSpecies<Short> species, Object region, long index);

    /** Stores {@code vector} at byte {@code index} of {@code region}, in native order. */
    abstract void store(ShortVector vector, Object region, long index);

    /** What the loads go through, for logs and tests: {@code "ByteBuffer"} or {@code "MemorySegment"}. */
    abstract String api();

    private static MomentVectors choose() {
        try {
            FloatVector.class.getMethod("fromByteBuffer", VectorSpecies.class, ByteBuffer.class, int.class,
                    ByteOrder.class);
            return new Buffers();
        } catch (NoSuchMethodException e) {
            return new Segments();
        }
    }

    /** Java 17 to 19: the vector methods on byte buffers. */
    private static final class Buffers extends MomentVectors {
        @Override
        Object region(ByteBuffer buffer) {
            return buffer;
        }

        @Override
        FloatVector loadFloats(VectorSpecies<Float> species, Object region, long index) {
            return FloatVector.fromByteBuffer(species, (ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        void store(FloatVector vector, Object region, long index) {
            vector.intoByteBuffer((ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        ShortVector loadShorts(VectorSpecies<Short> species, Object region, long index) {
            return ShortVector.fromByteBuffer(species, (ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        void store(ShortVector vector, Object region, long index) {
            vector.intoByteBuffer((ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        String api() {
            return "ByteBuffer";
        }
    }

    /**
     * Java 20 and later: the vector methods on memory segments, {@code MemorySegment.ofBuffer} over
     * each buffer. Each handle is adapted to take the segment as an Object, so that this class names
     * no type Java 17 lacks.
     */
    private static final class Segments extends MomentVectors {
        private static final MethodHandle OF_BUFFER;
        private static final MethodHandle LOAD_FLOATS;
        private static final MethodHandle STORE_FLOATS;
        private static final MethodHandle LOAD_SHORTS;
        private static final MethodHandle STORE_SHORTS;

        static {
            try {
                Class<?> segment = Class.forName("java.lang.foreign.MemorySegment");
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                OF_BUFFER = lookup.findStatic(segment, "ofBuffer", MethodType.methodType(segment, Buffer.class))
                        .asType(MethodType.methodType(Object.class, ByteBuffer.class));
                LOAD_FLOATS = load(lookup, FloatVector.class, segment);
                STORE_FLOATS = store(lookup, FloatVector.class, segment);
                LOAD_SHORTS = load(lookup, ShortVector.class, segment);
                STORE_SHORTS = store(lookup, ShortVector.class, segment);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("this JDK's jdk.incubator.vector loads vectors neither from byte "
                        + "buffers nor from memory segments", e);
            }
        }

        /** {@code V.fromMemorySegment(species, segment, index, order)} taking the segment as an Object. */
        private static MethodHandle load(MethodHandles.Lookup lookup, Class<?> vector, Class<?> segment)
                throws ReflectiveOperationException {
            return lookup.findStatic(vector, "fromMemorySegment",
                            MethodType.methodType(vector, VectorSpecies.class, segment, long.class, ByteOrder.class))
                    .asType(MethodType.methodType(vector, VectorSpecies.class, Object.class, long.class,
                            ByteOrder.class));
        }

        /** {@code vector.intoMemorySegment(segment, index, order)} taking the segment as an Object. */
        private static MethodHandle store(MethodHandles.Lookup lookup, Class<?> vector, Class<?> segment)
                throws ReflectiveOperationException {
            return lookup.findVirtual(vector, "intoMemorySegment",
                            MethodType.methodType(void.class, segment, long.class, ByteOrder.class))
                    .asType(MethodType.methodType(void.class, vector, Object.class, long.class, ByteOrder.class));
        }

        @Override
        Object region(ByteBuffer buffer) {
            try {
                return (Object) OF_BUFFER.invokeExact(buffer);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        FloatVector loadFloats(VectorSpecies<Float> species, Object region, long index) {
            try {
                return (FloatVector) LOAD_FLOATS.invokeExact(species, region, index, NATIVE);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        void store(FloatVector vector, Object region, long index) {
            try {
                STORE_FLOATS.invokeExact(vector, region, index, NATIVE);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        ShortVector loadShorts(VectorSpecies<Short> species, Object region, long index) {
            try {
                return (ShortVector) LOAD_SHORTS.invokeExact(species, region, index, NATIVE);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        void store(ShortVector vector, Object region, long index) {
            try {
                STORE_SHORTS.invokeExact(vector, region, index, NATIVE);
            } catch (Throwable e) {
                throw rethrow(e);
            }
        }

        @Override
        String api() {
            return "MemorySegment";
        }

        /** An exception of the target (an index out of bounds, say) as it was thrown. */
        private static RuntimeException rethrow(Throwable e) {
            if (e instanceof RuntimeException) {
                return (RuntimeException) e;
            }
            if (e instanceof Error) {
                throw (Error) e;
            }
            return new IllegalStateException(e);
        }
    }
}
