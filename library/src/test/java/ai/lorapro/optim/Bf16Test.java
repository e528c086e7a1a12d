package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.util.Random;

/** fp32 to bfloat16 rounding: nearest, ties to even, NaN kept, positive variances kept positive. */
class Bf16Test {

    private static float bits(int b) {
        return Float.intBitsToFloat(b);
    }

    @Test
    void roundsToNearestWithTiesToEven() {
        // exactly halfway between 0x3F80 and 0x3F81: the even one (0x3F80)
        assertEquals((short) 0x3F80, Bf16.encode(bits(0x3F808000)));
        // halfway between 0x3F81 and 0x3F82: the even one (0x3F82)
        assertEquals((short) 0x3F82, Bf16.encode(bits(0x3F818000)));
        // just above and below half
        assertEquals((short) 0x3F81, Bf16.encode(bits(0x3F808001)));
        assertEquals((short) 0x3F80, Bf16.encode(bits(0x3F807FFF)));
        // negative values round by magnitude
        assertEquals((short) 0xBF82, Bf16.encode(bits(0xBF818000)));
        // a carry into the exponent, and past the largest finite value to infinity
        assertEquals((short) 0x4000, Bf16.encode(bits(0x3FFFFFFF)));
        assertEquals((short) 0x7F80, Bf16.encode(Float.MAX_VALUE));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.decode(Bf16.encode(Float.POSITIVE_INFINITY)));
    }

    @Test
    void nanStaysNanAndZerosKeepTheirSign() {
        assertTrue(Float.isNaN(Bf16.decode(Bf16.encode(Float.NaN))));
        // a NaN whose payload lies only in the dropped bits must not become infinity
        assertTrue(Float.isNaN(Bf16.decode(Bf16.encode(bits(0x7F800001)))));
        assertEquals((short) 0x0000, Bf16.encode(0f));
        assertEquals((short) 0x8000, Bf16.encode(-0f));
    }

    @Test
    void roundTripsAreExactAndErrorsWithinHalfAnUlp() {
        Random rng = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(60) - 30));
            float y = Bf16.decode(Bf16.encode(x));
            assertEquals(y, Bf16.decode(Bf16.encode(y)), "a bf16 value must round-trip exactly");
            // 8 significant bits (7 stored): half an ulp is at most 2^-8 of the value
            assertTrue(Math.abs(y - x) <= Math.abs(x) * 0x1p-8f, x + " -> " + y);
        }
    }

    @Test
    void positiveVariancesNeverRoundToZero() {
        float tiny = Float.MIN_VALUE;
        assertEquals((short) 0, Bf16.encode(tiny));
        assertEquals(Bf16.MIN_POSITIVE, Bf16.encodeVariance(tiny));
        assertTrue(Bf16.decode(Bf16.encodeVariance(tiny)) > 0);
        assertEquals((short) 0, Bf16.encodeVariance(0f));
        assertEquals(Bf16.encode(1e-3f), Bf16.encodeVariance(1e-3f));
    }
}
