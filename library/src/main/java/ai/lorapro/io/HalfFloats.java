package ai.lorapro.io;

/** IEEE half (binary16) and bfloat16 conversions; Java 17 has neither built in. */
public final class HalfFloats {

    private HalfFloats() {}

    /** bfloat16 is the upper half of a float32. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Rounds a float32 to bfloat16 (round to nearest even; NaN stays NaN). */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if (Float.isNaN(value)) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Widens an IEEE binary16 value to float32 exactly. */
    public static float f16ToFloat(short half) {
        int h = half & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: value = mant * 2^-24
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    /**
     * Rounds a float32 to IEEE binary16 (round to nearest even, overflow to infinity, NaN stays
     * NaN), as PyTorch's {@code tensor.half()} does.
     */
    public static short floatToF16(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xFF;
        int mant = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {
            if (e < -10) {
                // below half the smallest subnormal: rounds to zero
                return (short) sign;
            }
            // subnormal: shift the mantissa (with its implicit 1) into place, rounding to even
            int m = mant | 0x800000;
            int shift = 14 - e;
            int half = 1 << (shift - 1);
            int rounded = (m + half - 1 + ((m >>> shift) & 1)) >>> shift;
            return (short) (sign | rounded);
        }
        int rounded = ((e << 10) | (mant >>> 13)) + roundBit(mant, 13);
        // a carry out of the mantissa correctly bumps the exponent, up to infinity
        return (short) (sign | rounded);
    }

    private static int roundBit(int mant, int shift) {
        int half = 1 << (shift - 1);
        int rest = mant & ((1 << shift) - 1);
        if (rest > half || (rest == half && ((mant >>> shift) & 1) != 0)) {
            return 1;
        }
        return 0;
    }
}
