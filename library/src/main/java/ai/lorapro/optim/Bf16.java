package ai.lorapro.optim;

/**
 * Conversions between fp32 and bfloat16 bit patterns (the upper 16 bits of an fp32), done in Java
 * because DJL has no bfloat16 arrays.
 *
 * <p>Encoding rounds to nearest, ties to even: adding 0x7FFF plus the lowest kept bit to the fp32
 * bits and truncating rounds up exactly when the dropped half is above 0x8000, or equal to it with
 * an odd kept part. A carry out of the significand bumps the exponent, which is the correct rounding
 * (up to infinity past the largest finite bfloat16). NaN stays a (quiet) NaN.
 */
final class Bf16 {

    /** The smallest positive bfloat16 (a subnormal, about 9.2e-41). */
    static final short MIN_POSITIVE = 0x0001;

    private Bf16() {}

    /** The bfloat16 nearest to {@code value}, ties to even. */
    static short encode(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            // NaN: keep the sign, force a quiet NaN (truncation could turn it into infinity)
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7FFF + lsb) >>> 16);
    }

    /**
     * {@link #encode} for a second moment: a positive value that would round to zero is stored as
     * the smallest positive bfloat16, so a positive v never becomes 0 through storage.
     */
    static short encodeVariance(float value) {
        short encoded = encode(value);
        return encoded == 0 && value > 0 ? MIN_POSITIVE : encoded;
    }

    /** The fp32 value of a bfloat16 bit pattern (exact). */
    static float decode(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }
}
