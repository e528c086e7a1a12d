package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.nn.Parameter;

/** Puts values into {@link Parameter}s, whether or not they already hold an array. */
public final class Weights {

    private Weights() {}

    /**
     * Makes {@code value} the content of {@code parameter}. An empty parameter takes ownership of
     * {@code value}; a filled one is overwritten in place (shapes must agree) and {@code value} is
     * left to its caller.
     *
     * @return whether {@code parameter} took ownership of {@code value}
     */
    public static boolean assign(Parameter parameter, NDArray value) {
        if (!parameter.isInitialized()) {
            parameter.setArray(value);
            return true;
        }
        NDArray target = parameter.getArray();
        if (!target.getShape().equals(value.getShape())) {
            throw new IllegalArgumentException(
                    "shape mismatch for "
                            + parameter.getName()
                            + ": expected "
                            + target.getShape()
                            + ", got "
                            + value.getShape());
        }
        if (value.getDataType() == target.getDataType()) {
            target.set(new NDIndex("..."), value);
        } else {
            try (NDArray converted = value.toType(target.getDataType(), true)) {
                target.set(new NDIndex("..."), converted);
            }
        }
        return false;
    }
}
