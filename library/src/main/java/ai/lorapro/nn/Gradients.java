package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/** The one place that zeroes the gradient autograd accumulated into a weight. */
public final class Gradients {

    private Gradients() {}

    /** Zeroes {@code weight}'s gradient in place (PyTorch: without creating an array). */
    public static void zero(NDArray weight) {
        if (weight instanceof PtNDArray) {
            JniUtils.zeroGrad((PtNDArray) weight);
        } else if (weight.hasGradient()) {
            try (NDArray g = weight.getGradient()) {
                g.subi(g);
            }
        }
    }
}
