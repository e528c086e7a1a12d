package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link MomentVectors} on the JDK that runs the tests: the API it picks for that JDK, and loads and
 * stores at byte indices of a direct buffer, unaligned ones included, that agree with the buffer's
 * own getters. The build runs these tests on Java 17 (byte buffers) and, where a second JDK is
 * installed, on it too (memory segments; see .ci/run).
 */
class MomentVectorsTest {

    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS =
            VectorSpecies.of(short.class, VectorShape.forBitSize(FLOATS.vectorBitSize() / 2));

    @Test
    void theApiIsTheOneThisJdkHas() {
        String expected = Runtime.version().feature() < 19 ? "ByteBuffer" : "MemorySegment";
        assertEquals(expected, MomentVectors.ACCESS.api());
    }

    @Test
    void floatsLoadAndStoreWhereTheBufferHasThem() {
        int lanes = FLOATS.length();
        ByteBuffer buffer = ByteBuffer.allocateDirect((3 * lanes + 1) * Float.BYTES).order(ByteOrder.nativeOrder());
        for (int i = 0; i < 3 * lanes + 1; i++) {
            buffer.putFloat(i * Float.BYTES, i + 0.5f);
        }
        Object region = MomentVectors.ACCESS.region(buffer);
        // one float past a vector boundary: an unaligned index
        long index = (long) (lanes + 1) * Float.BYTES;
        FloatVector loaded = MomentVectors.ACCESS.loadFloats(FLOATS, region, index);
        for (int l = 0; l < lanes; l++) {
            assertEquals(lanes + 1 + l + 0.5f, loaded.lane(l));
        }
        MomentVectors.ACCESS.storeFloats(loaded.neg(), region, Float.BYTES);
        assertEquals(0.5f, buffer.getFloat(0));
        for (int l = 0; l < lanes; l++) {
            assertEquals(-(lanes + 1 + l + 0.5f), buffer.getFloat((1 + l) * Float.BYTES));
        }
        assertEquals(lanes + 1 + 0.5f, buffer.getFloat((1 + lanes) * Float.BYTES));
        // a vector that would end past the buffer is refused, not read or written
        long last = (long) (2 * lanes + 2) * Float.BYTES;
        assertThrows(IndexOutOfBoundsException.class, () -> MomentVectors.ACCESS.loadFloats(FLOATS, region, last));
        assertThrows(IndexOutOfBoundsException.class,
                () -> MomentVectors.ACCESS.storeFloats(loaded, region, last));
        assertEquals(3 * lanes + 0.5f, buffer.getFloat(3 * lanes * Float.BYTES));
    }

    @Test
    void theSelfCheckPassesAndABufferNotAtPositionZeroIsRefused() {
        MomentVectors.check(FLOATS, SHORTS);
        ByteBuffer buffer = ByteBuffer.allocateDirect(64).order(ByteOrder.nativeOrder());
        buffer.position(4);
        assertThrows(IllegalArgumentException.class, () -> MomentVectors.ACCESS.region(buffer));
    }

    @Test
    void shortsLoadAndStoreWhereTheBufferHasThem() {
        int lanes = SHORTS.length();
        ByteBuffer buffer = ByteBuffer.allocateDirect((2 * lanes + 1) * Short.BYTES).order(ByteOrder.nativeOrder());
        for (int i = 0; i < 2 * lanes + 1; i++) {
            buffer.putShort(i * Short.BYTES, (short) (1000 + i));
        }
        Object region = MomentVectors.ACCESS.region(buffer);
        ShortVector loaded = MomentVectors.ACCESS.loadShorts(SHORTS, region, Short.BYTES);
        for (int l = 0; l < lanes; l++) {
            assertEquals((short) (1001 + l), loaded.lane(l));
        }
        MomentVectors.ACCESS.storeShorts(loaded.neg(), region, (long) (lanes + 1) * Short.BYTES);
        assertEquals((short) (1000 + lanes), buffer.getShort(lanes * Short.BYTES));
        for (int l = 0; l < lanes; l++) {
            assertEquals((short) -(1001 + l), buffer.getShort((lanes + 1 + l) * Short.BYTES));
        }
        assertThrows(IndexOutOfBoundsException.class,
                () -> MomentVectors.ACCESS.loadShorts(SHORTS, region, (long) (lanes + 2) * Short.BYTES));
    }
}
