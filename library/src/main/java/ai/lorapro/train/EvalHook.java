package ai.lorapro.train;

import java.util.Map;

/**
 * Task metrics computed at each evaluation next to the eval loss, e.g. exact-match accuracy of
 * generated answers. The model is in its current training state; the hook must not change it.
 */
@FunctionalInterface
public interface EvalHook {

    /**
     * The metrics after {@code step}.
     *
     * @param step the optimizer steps completed
     * @return metrics by name (written as {@code eval_<name>})
     */
    Map<String, Double> evaluate(long step);
}
