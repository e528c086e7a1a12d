package ai.lorapro.optim;

import ai.lorapro.LoraProException;

/**
 * A LoRA factor holds NaN or infinity, so no step can repair it: training diverged before this
 * step (the optimizers never write a non-finite result into a factor themselves).
 */
public final class NonFiniteFactorException extends LoraProException {

    private static final long serialVersionUID = 1L;

    /**
     * @param message what is not finite
     */
    public NonFiniteFactorException(String message) {
        super(message);
    }
}
