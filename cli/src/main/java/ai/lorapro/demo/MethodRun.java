package ai.lorapro.demo;

import ai.lorapro.train.Method;

/**
 * One fine-tuning run of the demo: one method, one learning rate, one seed.
 *
 * @param method the method
 * @param seed the seed of the base model, data split, initialisation and order
 * @param lr the peak learning rate
 * @param losses the training loss of every step
 * @param evalLoss the loss on the held-out problems (answer tokens and EOS)
 * @param exactMatch the fraction of held-out problems answered exactly
 * @param seconds fine-tuning wall time
 * @param peakRssBytes the process's peak resident set during fine-tuning, -1 if unknown
 * @param optimizerStateBytes bytes of optimizer state
 * @param trainableParameters trainable values
 */
public record MethodRun(Method method, long seed, float lr, double[] losses, double evalLoss, double exactMatch,
        double seconds, long peakRssBytes, long optimizerStateBytes, long trainableParameters) {

    /** The training loss of the last step. */
    public double finalLoss() {
        return losses.length == 0 ? Double.NaN : losses[losses.length - 1];
    }
}
