package ai.lorapro.optim;

import ai.lorapro.InvalidInputException;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The update counters that DJL's {@code Optimizer.updateCount} keeps for its learning-rate {@code
 * Tracker}s, owned by the optimizer so that they can be saved and restored: the count per
 * parameter id, and the largest count, which is what a tracker is asked for. {@link
 * ResumableOptimizer} overrides {@code updateCount} (DJL's protected hook) to count here, with
 * DJL's rule: a parameter's first update counts {@code beginNumUpdate + 1}, each further one adds
 * 1, and the answer is the largest count so far.
 *
 * <p>Parameter ids are new in every process, so the counters are exported under the parameters'
 * stable names and mapped back on import; without them a schedule would restart at update 1 after
 * a resume.
 */
final class DjlUpdateCounters {

    /** Prefix of the exported counter of one parameter, followed by its stable name. */
    static final String COUNT_PREFIX = "djl.update_count:";
    /** Name of the exported largest count. */
    static final String NUM_UPDATE = "djl.num_update";

    private final int beginNumUpdate;
    private final Map<String, Integer> counts = new HashMap<>();
    private int numUpdate;

    /** @param beginNumUpdate the count before a parameter's first update (DJL's {@code optBeginNumUpdate}) */
    DjlUpdateCounters(int beginNumUpdate) {
        this.beginNumUpdate = beginNumUpdate;
    }

    /** Counts one update of {@code parameterId} and returns the largest count, as DJL does. */
    int next(String parameterId) {
        int count = counts.merge(parameterId, beginNumUpdate + 1, (old, first) -> old + 1);
        numUpdate = Math.max(numUpdate, count);
        return numUpdate;
    }

    /**
     * The counters by stable name; none when DJL's update was never called.
     *
     * @param names stable names by parameter id
     * @throws IllegalStateException if a counted parameter has no stable name
     */
    Map<String, Integer> export(Map<String, String> names) {
        if (numUpdate == 0 && counts.isEmpty()) {
            return Map.of(); // never driven through DJL's update (the training engine sets the rate itself)
        }
        // sorted by name: ids are random, and checkpoints should not depend on them
        Map<String, Integer> out = new TreeMap<>();
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            String name = names.get(e.getKey());
            if (name == null) {
                throw new IllegalStateException("DJL's update counter of parameter " + e.getKey()
                        + " cannot be saved: the parameter has no stable name (register it with"
                        + " addLoraLayers or nameParameter)");
            }
            out.put(COUNT_PREFIX + name, e.getValue());
        }
        Map<String, Integer> ordered = new LinkedHashMap<>(out);
        ordered.put(NUM_UPDATE, numUpdate);
        return ordered;
    }

    /** Whether {@code key} of a saved state is one of these counters. */
    static boolean isCounter(String key) {
        return key.equals(NUM_UPDATE) || key.startsWith(COUNT_PREFIX);
    }

    /**
     * Replaces the counters with those among {@code saved}.
     *
     * @param names stable names by parameter id
     * @throws InvalidInputException if a counter names no parameter of the optimizer
     */
    void restore(Map<String, Integer> saved, Map<String, String> names) {
        Map<String, Integer> restored = byId(saved, names);
        Integer savedNumUpdate = saved.get(NUM_UPDATE);
        counts.clear();
        counts.putAll(restored);
        numUpdate = savedNumUpdate == null ? 0 : savedNumUpdate;
    }

    /**
     * Checks what {@link #restore} checks, changing nothing: so that a caller can refuse a whole
     * state before any part of it is applied.
     *
     * @throws InvalidInputException as {@link #restore} does
     */
    void check(Map<String, Integer> saved, Map<String, String> names) {
        byId(saved, names);
    }

    /** The saved per-parameter counters by parameter id. */
    private static Map<String, Integer> byId(Map<String, Integer> saved, Map<String, String> names) {
        Map<String, String> ids = new HashMap<>();
        names.forEach((id, name) -> ids.put(name, id));
        Map<String, Integer> restored = new HashMap<>();
        for (Map.Entry<String, Integer> e : saved.entrySet()) {
            if (e.getKey().startsWith(COUNT_PREFIX)) {
                String name = e.getKey().substring(COUNT_PREFIX.length());
                String id = ids.get(name);
                if (id == null) {
                    throw new InvalidInputException("optimizer state has an update counter for '" + name
                            + "', which names no parameter of this optimizer");
                }
                restored.put(id, e.getValue());
            }
        }
        return restored;
    }
}
