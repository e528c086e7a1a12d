package ai.lorapro.models.common;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;

/** Choosing the next token from one row of logits, on the host. */
final class TokenSampling {

    private TokenSampling() {}

    /** The first index of the largest logit, as torch.argmax. */
    static long argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /**
     * Samples from softmax(logits / temperature) restricted to the nucleus: the most likely
     * tokens whose probabilities first reach {@code topP} (at least one token).
     */
    static long topP(float[] logits, double temperature, double topP, SplittableRandom rng) {
        int n = logits.length;
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l / temperature);
        }
        double[] probs = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            probs[i] = Math.exp(logits[i] / temperature - max);
            sum += probs[i];
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            probs[i] /= sum;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> probs[i]).reversed());
        int kept = 0;
        double mass = 0;
        while (kept < n && (kept == 0 || mass < topP)) {
            mass += probs[order[kept]];
            kept++;
        }
        double u = rng.nextDouble() * mass;
        double acc = 0;
        for (int k = 0; k < kept; k++) {
            acc += probs[order[k]];
            if (u < acc) {
                return order[k];
            }
        }
        return order[kept - 1];
    }
}
