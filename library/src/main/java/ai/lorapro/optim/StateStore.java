package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
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
    /** Keys of arrays that hold bf16 moments packed in UINT8 (see {@link MomentRows}). */
    private final Set<String> packedBf16 = new HashSet<>();

    /** Counts one more step of {@code name} and returns it (the first is 1). */
    int nextStep(String name) {
        return steps.merge(name, 1, Integer::sum);
    }

    /** The steps counted for {@code name} so far (0 before the first). */
    int step(String name) {
        return steps.getOrDefault(name, 0);
    }

    /**
     * The type of the state kept for a parameter of {@code parameterType}: float32, or float64 for a
     * float64 parameter. Never float16: there eps sqrt(1 - beta2) rounds to 0 and a small second
     * moment underflows, so Adam's direction m / (sqrt(v) + eps) becomes infinite.
     */
    static DataType stateType(DataType parameterType) {
        return parameterType == DataType.FLOAT64 ? DataType.FLOAT64 : DataType.FLOAT32;
    }

    /** A new copy of {@code array} in {@link #stateType} of its type, for arithmetic with the state. */
    static NDArray stateTypeCopy(NDArray array) {
        DataType type = stateType(array.getDataType());
        return array.getDataType() == type ? array.duplicate() : array.toType(type, true);
    }

    /** Takes back the step {@link #nextStep} just counted for {@code name} (the step was skipped). */
    void revertStep(String name) {
        steps.computeIfPresent(name, (k, t) -> t <= 1 ? null : t - 1);
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
        NDManager manager = managerFor(like);
        NDArray created;
        NDArray source = imported.remove(key);
        if (source == null) {
            created = manager.zeros(shape, stateType(like.getDataType()), like.getDevice());
        } else {
            try {
                if (!source.getShape().equals(shape)) {
                    throw new InvalidInputException(
                            "optimizer state '" + key + "' has shape " + source.getShape() + ", expected " + shape);
                }
                // an array of its own in the state's type: toType to the same type returns an alias of the
                // source, whose memory (e.g. a buffer a file was read into) goes with it when it is closed
                DataType type = stateType(like.getDataType());
                NDArray typed = source.getDataType() == type ? source.duplicate() : source.toType(type, true);
                created = typed.toDevice(like.getDevice(), false);
                if (created != typed) {
                    typed.close();
                }
            } finally {
                source.close();
            }
        }
        return keep(key, created, manager);
    }

    /**
     * The store's root manager of {@code like}'s device: the array's own manager may be of another
     * device or a short-lived one, and closing it (or the model's) must not free the state.
     */
    private NDManager managerFor(NDArray like) {
        return managers.computeIfAbsent(
                like.getDevice(), d -> NDManager.newBaseManager(d, like.getManager().getEngine().getEngineName()));
    }

    private NDArray keep(String key, NDArray created, NDManager manager) {
        created.attach(manager);
        NDScope.unregister(created);
        arrays.put(key, created);
        return created;
    }

    /**
     * The bf16 moment {@code key} of logical {@code shape} (m x n), packed in a UINT8 m x 2n CPU
     * array: created on first use as zeros, or rounded from an imported fp32 state. Exported as
     * fp32, so checkpoints do not depend on the storage.
     *
     * @param variance whether it is a second moment (positive values are kept positive)
     */
    NDArray packedBf16Array(String key, Shape shape, NDArray like, boolean variance) {
        NDArray existing = arrays.get(key);
        if (existing != null) {
            return existing;
        }
        NDManager manager = managerFor(like);
        NDArray created = manager.zeros(MomentRows.packedShape(shape), DataType.UINT8);
        NDArray source = imported.remove(key);
        if (source != null) {
            try {
                if (!source.getShape().equals(shape)) {
                    created.close();
                    throw new InvalidInputException(
                            "optimizer state '" + key + "' has shape " + source.getShape() + ", expected " + shape);
                }
                try (NDArray fp32 = source.toType(DataType.FLOAT32, true)) {
                    MomentRows.copy(MomentRows.of(fp32), MomentRows.of(created), variance);
                }
            } finally {
                source.close();
            }
        }
        packedBf16.add(key);
        return keep(key, created, manager);
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
        tensors.keySet().removeAll(packedBf16);
        tensors.putAll(imported);
        return new OptimizerState(tensors, steps);
    }

    /**
     * The packed bf16 moments, which {@link #view()} leaves out, each as a maker of its float32 copy
     * and the copy's shape: one copy at a time when written one by one. Each copy belongs to the
     * store's manager of its device until the caller closes it.
     */
    Map<String, Map.Entry<Shape, java.util.function.Supplier<NDArray>>> packedAsFloat32() {
        Map<String, Map.Entry<Shape, java.util.function.Supplier<NDArray>>> out = new LinkedHashMap<>();
        for (String key : packedBf16) {
            NDArray packed = arrays.get(key);
            Shape shape = new Shape(packed.getShape().get(0), packed.getShape().get(1) / Short.BYTES);
            out.put(key, Map.entry(shape, () -> unpacked(packed, packed.getManager())));
        }
        return out;
    }

    /** A copy of the state, its arrays attached to {@code manager}. */
    OptimizerState export(NDManager manager) {
        Map<String, NDArray> tensors = new LinkedHashMap<>();
        for (Map<String, NDArray> source : java.util.List.of(arrays, imported)) {
            for (Map.Entry<String, NDArray> e : source.entrySet()) {
                NDArray copy = packedBf16.contains(e.getKey())
                        ? unpacked(e.getValue(), manager)
                        : e.getValue().duplicate();
                copy.attach(manager);
                tensors.put(e.getKey(), copy);
            }
        }
        return new OptimizerState(tensors, steps);
    }

    /**
     * Replaces the state with arrays read one at a time, so that no second copy of a large state
     * is ever held: each array {@code reader} returns becomes the store's (it is not copied). All
     * of them are read before the current state is dropped, so a failing {@code reader} leaves the
     * store unchanged (the old and the new arrays are then held together for a moment: nothing, for
     * a fresh optimizer).
     *
     * @param savedSteps step counts by pair or parameter name
     * @param keys the names of the state arrays
     * @param reader makes the array of a name; the store takes it over
     * @param layout the arrays the optimizer keeps
     * @throws InvalidInputException if a step count names something unknown or frozen, an array belongs to no
     *     step count, is not one the optimizer keeps or has another shape than its weights give it, or
     *     a pair or parameter with a step count lacks an array it has made
     */
    void load(Map<String, Integer> savedSteps, Collection<String> keys, Function<String, NDArray> reader,
            StateLayout layout) {
        savedSteps.keySet().forEach(layout::requireOwner);
        for (String key : keys) {
            if (savedSteps.keySet().stream().noneMatch(name -> key.startsWith(name + "."))) {
                throw new InvalidInputException("optimizer state tensor '" + key + "' has no step count");
            }
            layout.shapeOf(key);
        }
        layout.requireComplete(savedSteps.keySet(), keys);
        // every array is read before anything is replaced: a reader that fails (a non-finite or
        // unreadable tensor) leaves the state as it was, not half imported
        Map<String, NDArray> staged = new HashMap<>();
        NDManager staging = null;
        try {
            for (String key : keys) {
                NDArray value = reader.apply(key);
                Shape expected = layout.shapeOf(key);
                if (expected != null && !expected.equals(value.getShape())) {
                    Shape found = value.getShape();
                    value.close();
                    throw new InvalidInputException(
                            "optimizer state '" + key + "' has shape " + found + ", expected " + expected);
                }
                if (staging == null) {
                    // our own root manager: the caller may close the manager of its arrays at once
                    staging = NDManager.newBaseManager(value.getDevice(), value.getManager().getEngine().getEngineName());
                }
                value.attach(staging);
                NDScope.unregister(value);
                staged.put(key, value);
            }
        } catch (RuntimeException | Error e) {
            if (staging != null) {
                staging.close();
            }
            throw e;
        }
        clearArrays();
        if (importManager != null) {
            importManager.close();
        }
        importManager = staging;
        imported.putAll(staged);
        steps.clear();
        steps.putAll(savedSteps);
    }

    /** An fp32 copy of a packed bf16 moment, on {@code manager}. */
    private static NDArray unpacked(NDArray packed, NDManager manager) {
        Shape shape = packed.getShape();
        NDArray copy = manager.zeros(new Shape(shape.get(0), shape.get(1) / Short.BYTES), DataType.FLOAT32);
        MomentRows.copy(MomentRows.of(packed), MomentRows.of(copy), false);
        return copy;
    }

    private void clearArrays() {
        arrays.values().forEach(NDArray::close);
        arrays.clear();
        packedBf16.clear();
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
