package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Differentiable products with a constant that stay correct until the backward pass.
 *
 * <p>DJL's {@code NDArray.mul(Number)} (and {@code div}, {@code pow}) wraps the number in a
 * temporary array backed by a Java direct buffer and closes it as soon as the op returns. PyTorch's
 * autograd keeps that scalar for the backward pass, but the buffer now belongs to nobody: once the
 * garbage collector frees it, the backward pass reads freed memory, and gradients turn into
 * garbage or NaN at random. Here the scalar is an array of {@code x}'s manager (usually the
 * per-step manager) that lives until that manager closes, after the backward pass.
 */
public final class Scalars {

    private Scalars() {}

    /**
     * {@code x * value}, safe to back-propagate through.
     *
     * @param x the array (its manager owns the scalar)
     * @param value the constant
     * @return the product, in {@code x}'s type
     */
    public static NDArray mul(NDArray x, double value) {
        return x.mul(scalarBeside(x, (float) value));
    }

    /**
     * A scalar on {@code x}'s device, owned by {@code x}'s manager. A manager creates arrays on its
     * own device, and in multi-device training DJL attaches a device copy to a manager of another
     * device, so the scalar is then made on a sub-manager of the right device and moved over.
     */
    private static NDArray scalarBeside(NDArray x, float value) {
        NDManager manager = x.getManager();
        if (manager.getDevice().equals(x.getDevice())) {
            return manager.create(value);
        }
        try (NDManager onDevice = manager.newSubManager(x.getDevice())) {
            NDArray scalar = onDevice.create(value);
            scalar.attach(manager);
            return scalar;
        }
    }
}
