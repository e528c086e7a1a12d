package ai.lorapro.optim;

import ai.lorapro.InvalidFieldException;

import java.util.Locale;

/**
 * How LoRA-Pro AdamW stores the m x n moments of full mode: fp32 (4 bytes per element and moment)
 * or bfloat16 (2 bytes; fp32's exponent range with an 8-bit significand, rounded to nearest even).
 * bfloat16 halves full mode's state; the step still computes in fp32. It is implemented by the
 * fused CPU kernel only (see {@link FusedFullAdamStep}).
 */
public enum StateDType {
    /** 32-bit floats, the default. */
    FP32,
    /** bfloat16 bit patterns held by the optimizer (DJL has no bfloat16 arrays). */
    BF16;

    /**
     * Parses {@code fp32} or {@code bf16} (any case).
     *
     * @throws InvalidFieldException naming the field for any other value
     */
    public static StateDType fromString(String value) {
        if (value != null) {
            for (StateDType type : values()) {
                if (type.name().equalsIgnoreCase(value.trim())) {
                    return type;
                }
            }
        }
        throw new InvalidFieldException("state_dtype", "must be fp32 or bf16, got '" + value + "'");
    }

    /** Bytes per stored moment value: 4 for fp32, 2 for bf16. */
    public int bytesPerValue() {
        switch (this) {
            case FP32:
                return Float.BYTES;
            case BF16:
                return Short.BYTES;
            default:
                throw new IllegalStateException("no size for " + this);
        }
    }

    /** The lower-case name used on the command line and in configuration files. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
