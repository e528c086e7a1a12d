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
 * the running JDK's {@code jdk.incubator.vector} has: Java 17 and 18 load vectors from a {@link
 * ByteBuffer}; Java 19 replaced those methods by loads from a {@code java.lang.foreign.MemorySegment}
 * over the same memory. The library is compiled for Java 17, where that class does not exist, so
 * the segment methods are reached through method handles held in static finals, which the JIT
 * treats as constants and inlines.
 *
 * <p>A kernel asks for a {@link #region} once per buffer, then passes it with a byte index to the
 * loads and stores. {@link #ACCESS} is chosen once, when the class loads; {@link #check} tries it
 * on a small buffer, so that a JDK where it does not work is found before any step runs ({@link
 * FusedKernels} then runs the plain loops).
 */
abstract class MomentVectors {

    /** Native byte order, in which the moments are stored (declared before {@link #ACCESS}, which may use it). */
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** The access of this JDK. */
    static final MomentVectors ACCESS = choose();

    /**
     * The object the loads and stores take for {@code buffer}: the buffer itself, or a segment over
     * it. Byte indices count from the buffer's start, so its position must be 0 (a segment over a
     * buffer starts at its position).
     */
    final Object region(ByteBuffer buffer) {
        if (buffer.position() != 0) {
            throw new IllegalArgumentException("a moment buffer's position must be 0, got " + buffer.position());
        }
        return regionOf(buffer);
    }

    /** {@link #region} of a buffer at position 0. */
    abstract Object regionOf(ByteBuffer buffer);

    /** The floats at byte {@code index} of {@code region}, in native order. */
    abstract FloatVector loadFloats(VectorSpecies<Float> species, Object region, long index);

    /** Stores {@code vector} at byte {@code index} of {@code region}, in native order. */
    abstract void storeFloats(FloatVector vector, Object region, long index);

    /** The shorts at byte {@code index} of {@code region}, in native order. */
    abstract ShortVector loadShorts(VectorSpecies<Short> species, Object region, long index);

    /** Stores {@code vector} at byte {@code index} of {@code region}, in native order. */
    abstract void storeShorts(ShortVector vector, Object region, long index);

    /** What the loads go through, for logs and tests: {@code "ByteBuffer"} or {@code "MemorySegment"}. */
    abstract String api();

    /**
     * Loads and stores vectors of both species through {@link #ACCESS} on a small direct buffer, at
     * an index that is not a multiple of the vector size, and compares them with the buffer's own
     * getters.
     *
     * @throws IllegalStateException naming the API and the first wrong element, if any (and whatever
     *     the loads and stores themselves throw on a JDK where they cannot run)
     */
    static void check(VectorSpecies<Float> floats, VectorSpecies<Short> shorts) {
        int lanes = floats.length();
        ByteBuffer buffer = ByteBuffer.allocateDirect((2 * lanes + 1) * Float.BYTES).order(NATIVE);
        for (int i = 0; i < 2 * lanes + 1; i++) {
            buffer.putFloat(i * Float.BYTES, i + 0.5f);
        }
        Object region = ACCESS.region(buffer);
        FloatVector loaded = ACCESS.loadFloats(floats, region, Float.BYTES);
        ACCESS.storeFloats(loaded.neg(), region, (long) (lanes + 1) * Float.BYTES);
        for (int l = 0; l < lanes; l++) {
            requireEqual(l + 1.5f, loaded.lane(l), "float load, lane " + l);
            requireEqual(-(l + 1.5f), buffer.getFloat((lanes + 1 + l) * Float.BYTES), "float store, lane " + l);
        }
        // the shorts read the first floats' bytes, which the float store above left alone
        short[] expected = new short[shorts.length()];
        for (int l = 0; l < expected.length; l++) {
            expected[l] = buffer.getShort((l + 1) * Short.BYTES);
        }
        ShortVector bits = ACCESS.loadShorts(shorts, region, Short.BYTES);
        ACCESS.storeShorts(bits, region, 0);
        for (int l = 0; l < expected.length; l++) {
            requireEqual(expected[l], bits.lane(l), "short load, lane " + l);
            requireEqual(expected[l], buffer.getShort(l * Short.BYTES), "short store, lane " + l);
        }
    }

    private static void requireEqual(float expected, float actual, String what) {
        if (Float.floatToIntBits(expected) != Float.floatToIntBits(actual)) {
            throw new IllegalStateException("vector access through " + ACCESS.api() + " is wrong: " + what + " is "
                    + actual + ", expected " + expected);
        }
    }

    private static MomentVectors choose() {
        try {
            FloatVector.class.getMethod("fromByteBuffer", VectorSpecies.class, ByteBuffer.class, int.class,
                    ByteOrder.class);
            return new Buffers();
        } catch (NoSuchMethodException e) {
            return new Segments();
        }
    }

    /** Java 17 and 18: the vector methods on byte buffers. */
    private static final class Buffers extends MomentVectors {
        @Override
        Object regionOf(ByteBuffer buffer) {
            return buffer;
        }

        @Override
        FloatVector loadFloats(VectorSpecies<Float> species, Object region, long index) {
            return FloatVector.fromByteBuffer(species, (ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        void storeFloats(FloatVector vector, Object region, long index) {
            vector.intoByteBuffer((ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        ShortVector loadShorts(VectorSpecies<Short> species, Object region, long index) {
            return ShortVector.fromByteBuffer(species, (ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        void storeShorts(ShortVector vector, Object region, long index) {
            vector.intoByteBuffer((ByteBuffer) region, (int) index, NATIVE);
        }

        @Override
        String api() {
            return "ByteBuffer";
        }
    }

    /**
     * Java 19 and later: the vector methods on memory segments, {@code MemorySegment.ofBuffer} over
     * each buffer (a preview API on Java 19 to 21, final from 22). Each handle is adapted to take the
     * segment as an Object, so that this class names no type Java 17 lacks.
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
                LOAD_FLOATS = loadHandle(lookup, FloatVector.class, segment);
                STORE_FLOATS = storeHandle(lookup, FloatVector.class, segment);
                LOAD_SHORTS = loadHandle(lookup, ShortVector.class, segment);
                STORE_SHORTS = storeHandle(lookup, ShortVector.class, segment);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("this JDK's jdk.incubator.vector loads vectors neither from byte "
                        + "buffers nor from memory segments", e);
            }
        }

        /** {@code V.fromMemorySegment(species, segment, index, order)} taking the segment as an Object. */
        private static MethodHandle loadHandle(MethodHandles.Lookup lookup, Class<?> vector, Class<?> segment)
                throws ReflectiveOperationException {
            return lookup.findStatic(vector, "fromMemorySegment",
                            MethodType.methodType(vector, VectorSpecies.class, segment, long.class, ByteOrder.class))
                    .asType(MethodType.methodType(vector, VectorSpecies.class, Object.class, long.class,
                            ByteOrder.class));
        }

        /** {@code vector.intoMemorySegment(segment, index, order)} taking the segment as an Object. */
        private static MethodHandle storeHandle(MethodHandles.Lookup lookup, Class<?> vector, Class<?> segment)
                throws ReflectiveOperationException {
            return lookup.findVirtual(vector, "intoMemorySegment",
                            MethodType.methodType(void.class, segment, long.class, ByteOrder.class))
                    .asType(MethodType.methodType(void.class, vector, Object.class, long.class, ByteOrder.class));
        }

        @Override
        Object regionOf(ByteBuffer buffer) {
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
        void storeFloats(FloatVector vector, Object region, long index) {
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
        void storeShorts(ShortVector vector, Object region, long index) {
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
