package ai.lorapro.io;

import ai.djl.ndarray.types.DataType;

import java.util.Comparator;
import java.util.function.Function;

/** The safetensors dtypes we read and write, with their element sizes. */
public enum TensorDType {
    /** IEEE float32. */
    F32(4, DataType.FLOAT32),
    /** IEEE float16. */
    F16(2, DataType.FLOAT16),
    /** bfloat16; DJL cannot hold it, so it is widened to float32 on the host. */
    BF16(2, DataType.FLOAT32),
    /** float64. */
    F64(8, DataType.FLOAT64),
    /** int64. */
    I64(8, DataType.INT64),
    /** int32. */
    I32(4, DataType.INT32),
    /** int8. */
    I8(1, DataType.INT8),
    /** uint8. */
    U8(1, DataType.UINT8),
    /** bool, one byte each. */
    BOOL(1, DataType.BOOLEAN);

    private final int byteSize;
    private final DataType djlType;

    TensorDType(int byteSize, DataType djlType) {
        this.byteSize = byteSize;
        this.djlType = djlType;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /**
     * The order of tensors in a file, as the reference writer lays them out: dtypes in descending
     * order of its {@code Dtype} enum (which keeps every tensor aligned to its element size: wider
     * types first), then names. A merged checkpoint mixing float32 norms with float16 weights would
     * otherwise put a float32 tensor at an odd offset, which readers that map tensors in place refuse.
     */
    public static <T> Comparator<T> fileOrder(Function<T, TensorDType> dtype, Function<T, String> name) {
        return Comparator.<T>comparingInt(t -> -dtype.apply(t).referenceRank())
                .thenComparing(name, Comparator.naturalOrder());
    }

    /** The position in the reference implementation's {@code Dtype} enum (BOOL, U8, I8, F16, BF16, I32, F32, F64, I64). */
    private int referenceRank() {
        return switch (this) {
            case BOOL -> 0;
            case U8 -> 1;
            case I8 -> 2;
            case F16 -> 3;
            case BF16 -> 4;
            case I32 -> 5;
            case F32 -> 6;
            case F64 -> 7;
            case I64 -> 8;
        };
    }

    /** The DJL type an array of this dtype is loaded as (BF16 becomes FLOAT32). */
    public DataType djlType() {
        return djlType;
    }

    /** Whether this is a floating-point type. */
    public boolean isFloating() {
        return this == F32 || this == F16 || this == BF16 || this == F64;
    }

    /** PyTorch's name of a floating-point dtype, as config.json's {@code torch_dtype} gives it. */
    public String torchName() {
        switch (this) {
            case F32:
                return "float32";
            case F16:
                return "float16";
            case BF16:
                return "bfloat16";
            case F64:
                return "float64";
            default:
                throw new IllegalArgumentException(this + " is not a floating-point dtype");
        }
    }

    /** The dtype named in a safetensors header, or {@code null} if unknown. */
    public static TensorDType fromHeader(String name) {
        for (TensorDType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }

    /** The safetensors dtype of a DJL type. */
    public static TensorDType of(DataType type) {
        switch (type) {
            case FLOAT32:
                return F32;
            case FLOAT16:
                return F16;
            case FLOAT64:
                return F64;
            case INT64:
                return I64;
            case INT32:
                return I32;
            case INT8:
                return I8;
            case UINT8:
                return U8;
            case BOOLEAN:
                return BOOL;
            default:
                throw new IllegalArgumentException("no safetensors dtype for " + type);
        }
    }
}
