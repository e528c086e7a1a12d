package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of a LoRA-Pro optimizer's state, for checkpoints: the moment arrays by stable name
 * (e.g. {@code model.layers.0.self_attn.q_proj.exp_avg}) and the step count of every pair or
 * parameter (e.g. {@code model.layers.0.self_attn.q_proj}).
 *
 * <p>The arrays belong to the manager given to {@link LoraProOptimizer#exportState}; closing that
 * manager frees them.
 */
public final class OptimizerState {

    private final Map<String, NDArray> tensors;
    private final Map<String, Integer> steps;

    /**
     * @param tensors state arrays by name
     * @param steps step counts by pair or parameter name
     */
    public OptimizerState(Map<String, NDArray> tensors, Map<String, Integer> steps) {
        this.tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
        this.steps = Collections.unmodifiableMap(new LinkedHashMap<>(steps));
    }

    /** The state arrays by name. */
    public Map<String, NDArray> getTensors() {
        return tensors;
    }

    /** The number of updates applied to each pair or parameter, by name. */
    public Map<String, Integer> getSteps() {
        return steps;
    }

    /**
     * Whether {@code key} of {@link #getSteps()} is one of DJL's update counters (kept for a
     * learning-rate {@code Tracker} when the optimizer runs in a DJL {@code Trainer}), which count
     * from the optimizer's {@code beginNumUpdate}, not from 0 as the step counts do.
     */
    public static boolean isUpdateCounter(String key) {
        return DjlUpdateCounters.isCounter(key);
    }
}
