package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The state of a LoRA-Pro optimizer under stable names: step counts per pair or parameter, and
 * moment arrays created lazily on the device of the array they track.
 */
final class StateStore implements AutoCloseable {

    private final Map<String, Integer> steps = new LinkedHashMap<>();
    private final Map<String, NDArray> arrays = new LinkedHashMap<>();
    private final Map<Device, NDManager> managers = new HashMap<>();
    /** Arrays of an imported state, moved to their device when first used. */
    private final Map<String, NDArray> imported = new HashMap<>();
    private NDManager importManager;

    /** Counts one more step of {@code name} and returns it (the first is 1). */
    int nextStep(String name) {
        return steps.merge(name, 1, Integer::sum);
    }

    /**
     * The array {@code key}, created on first use as zeros of {@code shape} with {@code like}'s type
     * on its device (or from an imported state). It outlives any {@link NDScope} open around the
     * call.
     */
    NDArray array(String key, Shape shape, NDArray like) {
        NDArray existing = arrays.get(key);
        if (existing != null) {
            return existing;
        }
        NDManager manager = managers.computeIfAbsent(like.getDevice(), d -> like.getManager().newSubManager(d));
        NDArray created;
        NDArray source = imported.remove(key);
        if (source == null) {
            created = manager.zeros(shape, like.getDataType());
        } else {
            try {
                if (!source.getShape().equals(shape)) {
                    throw new InvalidInputException(
                            "optimizer state '" + key + "' has shape " + source.getShape() + ", expected " + shape);
                }
                // an array of its own: toType to the same type returns an alias of the source,
                // whose memory (e.g. a buffer a file was read into) goes with it when it is closed
                NDArray typed = source.getDataType() == like.getDataType()
                        ? source.duplicate()
                        : source.toType(like.getDataType(), true);
                created = typed.toDevice(like.getDevice(), false);
                if (created != typed) {
                    typed.close();
                }
            } finally {
                source.close();
            }
        }
        created.attach(manager);
        NDScope.unregister(created);
        arrays.put(key, created);
        return created;
    }

    /** Bytes held by the state arrays. */
    long bytes() {
        long total = 0;
        for (NDArray a : arrays.values()) {
            total += a.getShape().size() * a.getDataType().getNumOfBytes();
        }
        return total;
    }

    /**
     * The state as it is, without copies: the live arrays (and imported ones not used yet). They
     * stay the store's; the view is valid until the next update or import.
     */
    OptimizerState view() {
        Map<String, NDArray> tensors = new LinkedHashMap<>(arrays);
        tensors.putAll(imported);
        return new OptimizerState(tensors, steps);
    }

    /** A copy of the state, its arrays attached to {@code manager}. */
    OptimizerState export(NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map<String, NDArray> source : java.util.List.of(arrays, imported)) {
            for (Map.Entry<String, NDArray> e : source.entrySet()) {
                NDArray copy = e.getValue().duplicate();
                copy.attach(manager);
                tensors.put(e.getKey(), copy);
            }
        }
        return new OptimizerState(tensors, steps);
    }

    /**
     * Replaces the state with a copy of {@code state}.
     *
     * @param knownNames the pair and parameter names the optimizer knows
     * @throws InvalidInputException if a step count names something unknown or an array belongs to
     *     no step count
     */
    void load(OptimizerState state, Set<String> knownNames) {
        load(state.getSteps(), state.getTensors().keySet(), key -> state.getTensors().get(key).duplicate(),
                knownNames);
    }

    /**
     * Replaces the state with arrays read one at a time, so that no second copy of a large state
     * is ever held: each array {@code reader} returns becomes the store's (it is not copied).
     *
     * @param savedSteps step counts by pair or parameter name
     * @param keys the names of the state arrays
     * @param reader makes the array of a name; the store takes it over
     * @param knownNames the pair and parameter names the optimizer knows
     * @throws InvalidInputException if a step count names something unknown or an array belongs to
     *     no step count
     */
    void load(Map<String, Integer> savedSteps, Collection<String> keys, Function<String, NDArray> reader,
            Set<String> knownNames) {
        for (String name : savedSteps.keySet()) {
            if (!knownNames.contains(name) && !name.startsWith(LoraProOptimizer.UNNAMED_PREFIX)) {
                throw new InvalidInputException("optimizer state names unknown pair or parameter '" + name + "'");
            }
        }
        for (String key : keys) {
            if (savedSteps.keySet().stream().noneMatch(name -> key.startsWith(name + "."))) {
                throw new InvalidInputException("optimizer state tensor '" + key + "' has no step count");
            }
        }
        clearArrays();
        steps.clear();
        steps.putAll(savedSteps);
        for (String key : keys) {
            NDArray value = reader.apply(key);
            if (importManager == null) {
                // our own root manager: the caller may close the manager of its arrays at once
                importManager = NDManager.newBaseManager(
                        value.getDevice(), value.getManager().getEngine().getEngineName());
            }
            value.attach(importManager);
            NDScope.unregister(value);
            imported.put(key, value);
        }
    }

    private void clearArrays() {
        arrays.values().forEach(NDArray::close);
        arrays.clear();
        imported.values().forEach(NDArray::close);
        imported.clear();
    }

    @Override
    public void close() {
        clearArrays();
        managers.values().forEach(NDManager::close);
        managers.clear();
        if (importManager != null) {
            importManager.close();
            importManager = null;
        }
    }
}
