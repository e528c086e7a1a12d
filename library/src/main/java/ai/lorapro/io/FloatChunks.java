package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Floating-point tensor data in a file's little-endian bytes to and from float32 values, a chunk
 * at a time: F16 and BF16 exactly widened and rounded to nearest even ({@link HalfFloats}), F64
 * rounded to the nearest float.
 */
public final class FloatChunks {

    private FloatChunks() {}

    /**
     * Reads {@code n} values of {@code dtype} from {@code buffer} (little-endian whatever the
     * buffer's order, from index 0) into {@code out}.
     *
     * @throws IllegalArgumentException if {@code dtype} is not a floating-point type
     */
    public static void decode(ByteBuffer buffer, TensorDType dtype, float[] out, int n) {
        ByteBuffer bytes =
                buffer.order() == ByteOrder.LITTLE_ENDIAN ? buffer : buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case F32:
                for (int i = 0; i < n; i++) {
                    out[i] = bytes.getFloat(4 * i);
                }
                break;
            case F16:
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.f16ToFloat(bytes.getShort(2 * i));
                }
                break;
            case BF16:
                for (int i = 0; i < n; i++) {
                    out[i] = HalfFloats.bf16ToFloat(bytes.getShort(2 * i));
                }
                break;
            case F64:
                for (int i = 0; i < n; i++) {
                    out[i] = (float) bytes.getDouble(8 * i);
                }
                break;
            default:
                throw new IllegalArgumentException("dtype " + dtype + " is not floating point");
        }
    }

    /**
     * Writes the first {@code n} of {@code values} as {@code dtype} into {@code out}
     * (little-endian, from index 0).
     *
     * @throws IllegalArgumentException if {@code dtype} is not a floating-point type
     */
    public static void encode(float[] values, int n, TensorDType dtype, byte[] out) {
        switch (dtype) {
            case F32:
                for (int i = 0; i < n; i++) {
                    putInt(out, 4 * i, Float.floatToRawIntBits(values[i]));
                }
                break;
            case F16:
            case BF16:
                for (int i = 0; i < n; i++) {
                    short h = dtype == TensorDType.F16
                            ? HalfFloats.floatToF16(values[i])
                            : HalfFloats.floatToBf16(values[i]);
                    out[2 * i] = (byte) h;
                    out[2 * i + 1] = (byte) (h >>> 8);
                }
                break;
            case F64:
                for (int i = 0; i < n; i++) {
                    long bits = Double.doubleToRawLongBits(values[i]);
                    putInt(out, 8 * i, (int) bits);
                    putInt(out, 8 * i + 4, (int) (bits >>> 32));
                }
                break;
            default:
                throw new IllegalArgumentException("dtype " + dtype + " is not floating point");
        }
    }

    /**
     * The largest float32 magnitude that stays finite once rounded to {@code type}: 65504 and a
     * little for F16, just under the midpoint between the largest bfloat16 and infinity for BF16,
     * the largest float otherwise.
     */
    public static float largestFinite(TensorDType type) {
        switch (type) {
            case F16:
                // 65520 is halfway between 65504 and 65536 (infinity) and rounds to even: infinity
                return Math.nextDown(65520f);
            case BF16:
                // below the halfway point between the largest bfloat16 (0x7F7F) and infinity
                return Float.intBitsToFloat(0x7F7F7FFF);
            default:
                return Float.MAX_VALUE;
        }
    }

    /**
     * Refuses a finite value among {@code values[0, n)} that {@code type} cannot hold.
     *
     * @param tensor the tensor, as the message names it: {@code "tensor 'name'"}, after the file
     *     that holds it where there is one
     * @param first the index in the tensor of {@code values[0]}
     * @throws InvalidInputException naming the tensor, the value and its index
     */
    public static void requireFits(String tensor, float[] values, int n, long first, TensorDType type) {
        float largest = largestFinite(type);
        for (int i = 0; i < n; i++) {
            if (Math.abs(values[i]) > largest && Float.isFinite(values[i])) {
                throw new InvalidInputException(tensor + " holds " + values[i] + " at element "
                        + (first + i) + ", which " + type + " cannot hold");
            }
        }
    }

    private static void putInt(byte[] out, int at, int bits) {
        out[at] = (byte) bits;
        out[at + 1] = (byte) (bits >>> 8);
        out[at + 2] = (byte) (bits >>> 16);
        out[at + 3] = (byte) (bits >>> 24);
    }
}
