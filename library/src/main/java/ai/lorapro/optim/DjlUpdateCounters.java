package ai.lorapro.optim;

import ai.djl.training.optimizer.Optimizer;
import ai.lorapro.InvalidInputException;

import java.lang.reflect.Field;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Saves and restores the update counters DJL's {@link Optimizer} keeps for its learning-rate
 * {@code Tracker}s: the count per parameter id and the largest count, which is what a tracker is
 * asked for. DJL keeps them private and keyed by parameter ids, which are new in every process, so
 * they are exported under the parameters' stable names and mapped back on import; without them a
 * schedule would restart at update 1 after a resume.
 */
final class DjlUpdateCounters {

    /** Prefix of the exported counter of one parameter, followed by its stable name. */
    static final String COUNT_PREFIX = "djl.update_count:";
    /** Name of the exported largest count. */
    static final String NUM_UPDATE = "djl.num_update";

    private static final Field UPDATE_COUNTS = field("updateCounts");
    private static final Field NUM_UPDATE_FIELD = field("numUpdate");

    private DjlUpdateCounters() {}

    private static Field field(String name) {
        try {
            Field f = Optimizer.class.getDeclaredField(name);
            f.setAccessible(true);
            return f;
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("this DJL version has no Optimizer." + name + " to save and restore", e);
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Integer> counts(Optimizer optimizer) {
        try {
            return (Map<String, Integer>) UPDATE_COUNTS.get(optimizer);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The counters of {@code optimizer}, by stable name; none when DJL's update was never called.
     *
     * @param names stable names by parameter id
     * @throws IllegalStateException if a counted parameter has no stable name
     */
    static Map<String, Integer> export(Optimizer optimizer, Map<String, String> names) {
        int numUpdate;
        try {
            numUpdate = NUM_UPDATE_FIELD.getInt(optimizer);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
        if (numUpdate == 0 && counts(optimizer).isEmpty()) {
            return Map.of(); // never driven through DJL's update (the training engine sets the rate itself)
        }
        // sorted by name: DJL's map is ordered by random ids, and checkpoints should not be
        Map<String, Integer> out = new TreeMap<>();
        for (Map.Entry<String, Integer> e : counts(optimizer).entrySet()) {
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
     * Restores the counters among {@code saved} into {@code optimizer}.
     *
     * @param names stable names by parameter id
     * @throws InvalidInputException if a counter names no parameter of the optimizer
     */
    static void restore(Optimizer optimizer, Map<String, Integer> saved, Map<String, String> names) {
        Map<String, String> ids = new HashMap<>();
        names.forEach((id, name) -> ids.put(name, id));
        Map<String, Integer> counts = counts(optimizer);
        Map<String, Integer> restored = new HashMap<>();
        Integer numUpdate = null;
        for (Map.Entry<String, Integer> e : saved.entrySet()) {
            if (e.getKey().equals(NUM_UPDATE)) {
                numUpdate = e.getValue();
            } else if (e.getKey().startsWith(COUNT_PREFIX)) {
                String name = e.getKey().substring(COUNT_PREFIX.length());
                String id = ids.get(name);
                if (id == null) {
                    throw new InvalidInputException("optimizer state has an update counter for '" + name
                            + "', which names no parameter of this optimizer");
                }
                restored.put(id, e.getValue());
            }
        }
        counts.clear();
        counts.putAll(restored);
        try {
            NUM_UPDATE_FIELD.setInt(optimizer, numUpdate == null ? 0 : numUpdate);
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
