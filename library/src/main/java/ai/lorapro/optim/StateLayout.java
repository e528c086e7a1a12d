package ai.lorapro.optim;

import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The state arrays an optimizer keeps, as an imported state must hold them: for each LoRA pair and
 * each named parameter outside the pairs, the arrays of this kind of optimizer (and mode), with
 * their shapes where the weights already have theirs, and which of them a pair or parameter that
 * has stepped must have; and the named parameters that do not train, which keep nothing. An import
 * is checked against it before it replaces anything, so that a state saved in another mode, by
 * another kind of optimizer, for other shapes, for modules trained then and frozen now, or with an
 * array missing is refused by name, instead of lying unused (or absent) while the moments start again
 * from zero at the saved step count.
 */
final class StateLayout {

    /** Every array, by its full name, with its shape or null where it is not known yet. */
    private final Map<String, Shape> arrays = new HashMap<>();
    /** The arrays of each owner (pair or parameter) in the order added, by the owner's name. */
    private final Map<String, Set<String>> arraysOf = new LinkedHashMap<>();
    /** The groups of arrays of each owner that has stepped, by the owner's name (see {@link #add}). */
    private final Map<String, List<Set<String>>> groupsOf = new HashMap<>();
    /** The named parameters that do not train: they keep nothing, not even a step count. */
    private final Set<String> frozen = new HashSet<>();

    /**
     * Adds the arrays of a pair or parameter.
     *
     * @param owner its name
     * @param kept its arrays, each by its name after the owner's and a dot, with its shape or null
     * @param groups the arrays an owner that has stepped holds, in groups (names as in {@code kept}):
     *     each group is held whole or not at all, and at least one of them is held (one group of all
     *     the arrays, for an optimizer that makes them all in its first step)
     */
    void add(String owner, Map<String, Shape> kept, List<Set<String>> groups) {
        kept.forEach((array, shape) -> arrays.put(owner + "." + array, shape));
        arraysOf.put(owner, fullNames(owner, kept.keySet()));
        groupsOf.put(owner, groups.stream().map(group -> fullNames(owner, group)).toList());
    }

    /** Adds a named parameter that does not train (a frozen one): an imported state may hold nothing of it. */
    void addFrozen(String owner) {
        frozen.add(owner);
    }

    private static Set<String> fullNames(String owner, Collection<String> arrays) {
        return arrays.stream().map(array -> owner + "." + array).collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * @param name a pair or parameter name an imported state gives a step count
     * @throws InvalidInputException if the optimizer knows no pair or parameter of that name, or it
     *     is frozen (its state would lie unused, and start a later unfreezing at that step count)
     */
    void requireOwner(String name) {
        if (frozen.contains(name)) {
            throw new InvalidInputException("optimizer state has a step count for '" + name + "', a parameter"
                    + " that does not train here (it is frozen: was the state saved with other modules trained?)");
        }
        if (!arraysOf.containsKey(name)) {
            throw new InvalidInputException("optimizer state names unknown pair or parameter '" + name + "'");
        }
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
     * @throws InvalidInputException naming the first missing array if one that has stepped holds a
     *     group of arrays in part, or none of its groups (a state of an optimizer that keeps fewer
     *     arrays, or a file with an array left out)
     */
    void requireComplete(Set<String> stepped, Collection<String> keys) {
        Set<String> present = Set.copyOf(keys);
        for (String owner : stepped) {
            List<Set<String>> groups = groupsOf.getOrDefault(owner, List.of());
            boolean oneWhole = groups.isEmpty();
            for (Set<String> group : groups) {
                List<String> missing = group.stream().filter(array -> !present.contains(array)).toList();
                if (missing.isEmpty()) {
                    oneWhole = true;
                } else if (missing.size() < group.size() || groups.size() == 1) {
                    throw missing(owner, "no tensor '" + missing.get(0) + "'");
                }
            }
            if (!oneWhole) {
                throw missing(owner, "none of its tensors " + String.join(", ", arraysOf.get(owner)));
            }
        }
    }

    private static InvalidInputException missing(String owner, String what) {
        return new InvalidInputException("optimizer state has a step count for '" + owner + "' but " + what
                + " (was the state saved by another optimizer, or in another mode?)");
    }
}
