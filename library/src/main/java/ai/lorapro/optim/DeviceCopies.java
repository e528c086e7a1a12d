package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.lorapro.nn.CrossDevice;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Recognises the device copies of a parameter in DJL's multi-device training and keeps them equal.
 *
 * <p>With several devices, DJL's {@code LocalParameterServer} sums each parameter's gradients over
 * its copies (one per device) onto the first device and then calls {@code Optimizer.update(id,
 * copy, sum)} once per copy, one call right after another, the first copy first. The optimizer
 * steps the first copy (the primary) once; every further copy takes the primary's new value. A
 * further copy of a LoRA factor can arrive before its pair has stepped (the partner's gradient
 * has not come yet); it then waits until the primary has been {@link #settle settled}.
 *
 * <p>A further copy is a call for the same parameter as the call just before, with another array;
 * the same array again starts the next iteration.
 */
final class DeviceCopies {

    private String lastId;
    private final List<NDArray> lastWeights = new ArrayList<>();
    private final Map<String, NDArray> primaries = new HashMap<>();
    private final Map<String, List<NDArray>> waiting = new HashMap<>();
    private final Set<String> settled = new HashSet<>();

    /**
     * Whether {@code weight} is a further copy of the parameter of the previous call; if not, it
     * is recorded as the primary of {@code parameterId} for this iteration.
     */
    boolean isFurtherCopy(String parameterId, NDArray weight) {
        if (parameterId.equals(lastId) && lastWeights.stream().noneMatch(w -> w == weight)) {
            lastWeights.add(weight);
            return true;
        }
        lastId = parameterId;
        lastWeights.clear();
        lastWeights.add(weight);
        primaries.put(parameterId, weight);
        settled.remove(parameterId);
        return false;
    }

    /** Gives {@code copy} its primary's value now if the primary has stepped, else when it does. */
    void follow(String parameterId, NDArray copy) {
        if (settled.contains(parameterId)) {
            CrossDevice.copy(primaries.get(parameterId), copy);
        } else {
            waiting.computeIfAbsent(parameterId, k -> new ArrayList<>()).add(copy);
        }
    }

    /** The primary of {@code parameterId} holds this iteration's value: copies take it. */
    void settle(String parameterId) {
        settled.add(parameterId);
        List<NDArray> copies = waiting.remove(parameterId);
        if (copies != null) {
            NDArray primary = primaries.get(parameterId);
            for (NDArray copy : copies) {
                CrossDevice.copy(primary, copy);
            }
        }
    }

    /**
     * Forgets the copies still waiting (their pair failed), at the start of an iteration, except
     * those of {@code stillWaiting}, whose step is still to come.
     */
    void clearWaitingExcept(Set<String> stillWaiting) {
        waiting.keySet().retainAll(stillWaiting);
    }

}
