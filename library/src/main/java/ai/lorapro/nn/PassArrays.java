package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Keeps a pass's arrays on the pass's manager. DJL attaches the result of an operation to the
 * manager of its first operand, so an array derived from a parameter (a reshaped embedding, an
 * exponentiated scale) or from a long-lived cache joins that long-lived manager, and so does
 * every array computed from it afterwards: a whole pass's activations that are never freed.
 */
public final class PassArrays {

    private PassArrays() {}

    /**
     * Moves {@code derived} to {@code pass}, the manager of the running pass, unless it is there.
     *
     * @return {@code derived}
     */
    public static NDArray own(NDArray derived, NDManager pass) {
        if (derived.getManager() != pass) {
            derived.attach(pass);
        }
        return derived;
    }
}
