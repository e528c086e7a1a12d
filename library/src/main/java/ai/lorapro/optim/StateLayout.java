package ai.lorapro.optim;

import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The state arrays an optimizer keeps, as an imported state must name them: for each LoRA pair the
 * arrays of its kind (and mode), with their shapes where the pair's factors already have theirs; for
 * each other parameter, its own arrays. An import is checked against it before it replaces
 * anything, so that a state saved in another mode, by another kind of optimizer or for other shapes
 * is refused by name instead of lying unused while the moments start again from zero.
 */
final class StateLayout {

    /** Every array of a pair, by its full name, with its shape or null where it is not known yet. */
    private final Map<String, Shape> pairArrays = new LinkedHashMap<>();
    /** The arrays of each pair, by the pair's name, for messages. */
    private final Map<String, List<String>> arraysOfPair = new LinkedHashMap<>();
    private final Set<String> parameterNames;
    private final Set<String> parameterArrays;

    /**
     * @param parameterNames the names of the parameters outside the pairs
     * @param parameterArrays the names, after the parameter's own name and a dot, of the arrays kept
     *     for each of them (each shaped like its parameter)
     */
    StateLayout(Set<String> parameterNames, Set<String> parameterArrays) {
        this.parameterNames = parameterNames;
        this.parameterArrays = parameterArrays;
    }

    /** Adds the arrays of pair {@code name}: each named after it and a dot, with its shape or null. */
    void addPair(String name, Map<String, Shape> arrays) {
        List<String> names = new ArrayList<>();
        arrays.forEach((array, shape) -> {
            pairArrays.put(name + "." + array, shape);
            names.add(name + "." + array);
        });
        arraysOfPair.put(name, names);
    }

    /**
     * The shape the imported array {@code key} must have, or null where the weights do not have
     * theirs yet (it is then checked when first used).
     *
     * @throws InvalidInputException naming {@code key} (and, where its name starts with a pair's, the
     *     arrays that pair keeps) if this optimizer keeps no such array
     */
    Shape shapeOf(String key) {
        if (pairArrays.containsKey(key)) {
            return pairArrays.get(key);
        }
        for (String array : parameterArrays) {
            String suffix = "." + array;
            if (key.endsWith(suffix) && parameterNames.contains(key.substring(0, key.length() - suffix.length()))) {
                return null;
            }
        }
        String hint = "";
        for (Map.Entry<String, List<String>> pair : arraysOfPair.entrySet()) {
            if (key.startsWith(pair.getKey() + ".")) {
                Set<String> kept = new TreeSet<>(pair.getValue());
                hint = kept.isEmpty() ? "; it keeps no array for LoRA pair '" + pair.getKey() + "'"
                        : "; for LoRA pair '" + pair.getKey() + "' it keeps " + String.join(", ", kept);
            }
        }
        throw new InvalidInputException("optimizer state tensor '" + key + "' is not one this optimizer keeps"
                + hint + " (was the state saved by another optimizer, or in another mode?)");
    }
}
