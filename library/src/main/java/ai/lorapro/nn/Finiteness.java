package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/** Checks for NaN and infinity, used to stop or skip a step before a bad update is applied. */
public final class Finiteness {

    private Finiteness() {}

    /**
     * Whether every element of {@code array} is finite. The check runs on the array's device and
     * one number comes back to the host: a finite sum proves it; only an infinite or NaN sum (which
     * an overflowing sum of finite values also gives) looks at the elements.
     *
     * @param array the array to check
     * @return {@code false} when any element is NaN or infinite
     */
    public static boolean isAllFinite(NDArray array) {
        if (!array.getDataType().isFloating()) {
            return true;
        }
        try (NDArray sum = array.sum();
                NDArray sum64 = sum.toType(DataType.FLOAT64, false)) {
            if (Double.isFinite(sum64.getDouble())) {
                return true;
            }
        }
        try (NDArray infinite = array.isInfinite();
                NDArray nan = array.isNaN();
                NDArray bad = infinite.logicalOr(nan);
                NDArray any = bad.any()) {
            return !any.getBoolean();
        }
    }

    /**
     * Whether {@code value} is neither NaN nor infinite.
     *
     * @param value a loss or a norm
     * @return {@code true} when the value is finite
     */
    public static boolean isFinite(double value) {
        return Double.isFinite(value);
    }
}
