package ai.lorapro.optim;

import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The state arrays an optimizer keeps, as an imported state must hold them: for each LoRA pair and
 * each named parameter outside the pairs, the arrays of this kind of optimizer (and mode), with
 * their shapes where the weights already have theirs, and which of them a pair or parameter that
 * has stepped must have. An import is checked against it before it replaces anything, so that a
 * state saved in another mode, by another kind of optimizer, for other shapes or with an array
 * missing is refused by name, instead of lying unused (or absent) while the moments start again
 * from zero at the saved step count.
 */
final class StateLayout {

    /** Every array, by its full name, with its shape or null where it is not known yet. */
    private final Map<String, Shape> arrays = new HashMap<>();
    /** The arrays of each owner (pair or parameter) in the order added, by the owner's name. */
    private final Map<String, Set<String>> arraysOf = new LinkedHashMap<>();
    /** The arrays each owner that has stepped must have, by the owner's name. */
    private final Map<String, Set<String>> requiredOf = new HashMap<>();

    /**
     * Adds the arrays of a pair or parameter.
     *
     * @param owner its name
     * @param kept its arrays, each by its name after the owner's and a dot, with its shape or null
     * @param required those of them it has made once it has stepped
     */
    void add(String owner, Map<String, Shape> kept, Collection<String> required) {
        kept.forEach((array, shape) -> arrays.put(owner + "." + array, shape));
        arraysOf.put(owner, fullNames(owner, kept.keySet()));
        requiredOf.put(owner, fullNames(owner, required));
    }

    private static Set<String> fullNames(String owner, Collection<String> arrays) {
        return arrays.stream().map(array -> owner + "." + array).collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * The shape the imported array {@code key} must have, or null where the weights do not have
     * theirs yet (it is then checked when first used).
     *
     * @throws InvalidInputException naming {@code key} (and, where its name starts with a pair's or
     *     parameter's, the arrays kept for that one) if this optimizer keeps no such array
     */
    Shape shapeOf(String key) {
        if (arrays.containsKey(key)) {
            return arrays.get(key);
        }
        String hint = "";
        for (Map.Entry<String, Set<String>> owner : arraysOf.entrySet()) {
            if (key.startsWith(owner.getKey() + ".")) {
                hint = owner.getValue().isEmpty() ? "; it keeps no array for '" + owner.getKey() + "'"
                        : "; for '" + owner.getKey() + "' it keeps " + String.join(", ", owner.getValue());
            }
        }
        throw new InvalidInputException("optimizer state tensor '" + key + "' is not one this optimizer keeps"
                + hint + " (was the state saved by another optimizer, or in another mode?)");
    }

    /**
     * @param stepped the pairs and parameters with a step count in the imported state
     * @param keys the names of its arrays
     * @throws InvalidInputException naming the first missing array if one that has stepped lacks an
     *     array it has made (a state of an optimizer that keeps fewer arrays, or a file with an
     *     array left out)
     */
    void requireComplete(Set<String> stepped, Collection<String> keys) {
        Set<String> present = Set.copyOf(keys);
        for (String owner : stepped) {
            for (String array : requiredOf.getOrDefault(owner, Set.of())) {
                if (!present.contains(array)) {
                    throw new InvalidInputException("optimizer state has a step count for '" + owner + "' but no tensor '"
                            + array + "' (was the state saved by another optimizer, or in another mode?)");
                }
            }
        }
    }
}
