package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.Scalars;

import java.util.Locale;

/**
 * The activation functions of Hugging Face's {@code ACT2FN} that our models use, composed from
 * elementwise DJL operations so that they autograd like PyTorch's.
 */
public enum Activation {
    /** {@code silu}/{@code swish}: x * sigmoid(x). */
    SILU,
    /** {@code gelu}: exact x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)). */
    GELU,
    /** {@code gelu_new}/{@code gelu_pytorch_tanh}: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
    GELU_TANH,
    /** {@code quick_gelu} (CLIP): x * sigmoid(1.702 x). */
    QUICK_GELU,
    /** {@code relu}. */
    RELU;

    /**
     * The activation named {@code name} in a Hugging Face config ({@code hidden_act}, {@code
     * dense_act_fn}, ...).
     *
     * @throws InvalidInputException if the name is not supported; the message names {@code field}
     */
    public static Activation fromHfName(String name, String field) {
        switch (name.toLowerCase(Locale.ROOT)) {
            case "silu":
            case "swish":
                return SILU;
            case "gelu":
                return GELU;
            case "gelu_new":
            case "gelu_pytorch_tanh":
            case "gelu_fast":
                return GELU_TANH;
            case "quick_gelu":
                return QUICK_GELU;
            case "relu":
                return RELU;
            default:
                throw new InvalidInputException(
                        field + ": unsupported activation '" + name + "'");
        }
    }

    /**
     * Applies the activation. The result and its intermediates belong to {@code x}'s manager, so a
     * caller's scope (sub-manager or {@code NDScope}) frees them.
     */
    public NDArray apply(NDArray x) {
        switch (this) {
            case SILU:
                return x.mul(x.getNDArrayInternal().sigmoid());
            case GELU:
                return Scalars.mul(x, 0.5).mul(Scalars.mul(x, 1.0 / Math.sqrt(2.0)).erf().add(1.0));
            case GELU_TANH:
                NDArray inner = Scalars.mul(x.add(Scalars.mul(x.mul(x).mul(x), 0.044715)), Math.sqrt(2.0 / Math.PI));
                return Scalars.mul(x, 0.5).mul(inner.tanh().add(1.0));
            case QUICK_GELU:
                return x.mul(Scalars.mul(x, 1.702).getNDArrayInternal().sigmoid());
            case RELU:
                return x.getNDArrayInternal().relu();
            default:
                throw new IllegalStateException("unreachable");
        }
    }
}
