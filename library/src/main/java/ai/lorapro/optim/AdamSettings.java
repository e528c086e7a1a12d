package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidFieldException;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * Adam's hyper-parameters, set by the builders of {@link PlainAdamW} and {@link LoraProAdamW}, and
 * the plain AdamW step of one parameter, whose moments live in the optimizer's state under {@code
 * <name>.exp_avg} and {@code <name>.exp_avg_sq} on the weight's device.
 *
 * @param beta1 the first moment's decay, in [0, 1)
 * @param beta2 the second moment's decay, in [0, 1)
 * @param eps the epsilon of u = m_hat / (sqrt(v_hat) + eps), finite and at least {@value #SMALLEST_EPS}
 */
record AdamSettings(double beta1, double beta2, double eps) {

    /** The names of a parameter's two moments, after its own name and a dot. */
    static final Set<String> MOMENTS = Set.of("exp_avg", "exp_avg_sq");

    /** The prefixes of the LoRA factors' moments after their pair's name, in {@link #factorMoments}. */
    static final String FACTOR_A = "lora_A.weight.";
    static final String FACTOR_B = "lora_B.weight.";

    /**
     * The smallest epsilon: the steps divide by eps' = eps sqrt(1 - beta2^t) in float32, which a
     * smaller one (times sqrt(1 - beta2) >= 1e-8) could round to 0, and 0 / 0 where m = v = 0.
     */
    static final double SMALLEST_EPS = 1e-30;

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8. */
    static final AdamSettings DEFAULTS = new AdamSettings(0.9, 0.999, 1e-8);

    /**
     * The moments of both factors of a LoRA pair stepped one factor at a time, after the pair's name
     * and a dot ({@code lora_A.weight.exp_avg}, ...), each shaped like its factor (null where the
     * factor's shape is).
     */
    static Map<String, Shape> factorMoments(Shape a, Shape b) {
        Map<String, Shape> moments = moments(FACTOR_A, a);
        moments.putAll(moments(FACTOR_B, b));
        return moments;
    }

    /** Both moments, each named {@code prefix} and its name, of {@code shape} (may be null). */
    static Map<String, Shape> moments(String prefix, Shape shape) {
        Map<String, Shape> moments = new HashMap<>();
        for (String moment : MOMENTS) {
            moments.put(prefix + moment, shape);
        }
        return moments;
    }

    /** The betas and epsilon of {@code config}. */
    static AdamSettings of(OptimizerConfig config) {
        return new AdamSettings(config.beta1(), config.beta2(), config.eps());
    }

    /** These settings with other betas. */
    AdamSettings withBetas(double beta1, double beta2) {
        return new AdamSettings(beta1, beta2, eps);
    }

    /** These settings with another epsilon. */
    AdamSettings withEpsilon(double eps) {
        return new AdamSettings(beta1, beta2, eps);
    }

    /**
     * @throws InvalidFieldException naming {@code beta1}, {@code beta2} or {@code eps} if a beta is
     *     outside [0, 1) or eps is not finite and at least {@value #SMALLEST_EPS} (as {@link
     *     OptimizerConfig} names them)
     */
    void validate() {
        InvalidFieldException.require(beta1 >= 0 && beta1 < 1, "beta1", "must be in [0, 1), got " + beta1);
        InvalidFieldException.require(beta2 >= 0 && beta2 < 1, "beta2", "must be in [0, 1), got " + beta2);
        InvalidFieldException.require(eps >= SMALLEST_EPS && Double.isFinite(eps), "eps",
                "must be finite and at least " + SMALLEST_EPS + ", got " + eps);
    }

    /**
     * One AdamW step of the parameter {@code name}: its moments are updated with {@code scratch}
     * (consumed), then w ← (1 - lr wd) w - lr u ({@link DecoupledStep}).
     *
     * @param optimizer the optimizer that holds the moments and the weight decay
     * @param scratch the gradient in the state's type, owned by the caller; overwritten and closed
     * @param step t, starting at 1
     */
    void step(ResumableOptimizer optimizer, String name, NDArray weight, NDArray scratch, float learningRate,
            int step) {
        // the moments live with the weight: the gradient may belong to a short-lived manager
        NDArray u = AdamMoments.updatedDirection(optimizer.state(name + ".exp_avg", weight),
                optimizer.state(name + ".exp_avg_sq", weight), scratch, step, beta1, beta2, eps);
        DecoupledStep.apply(weight, u, learningRate, optimizer.getWeightDecay());
    }
}
