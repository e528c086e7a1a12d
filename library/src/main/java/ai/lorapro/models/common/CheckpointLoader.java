package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Weights;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * Fills every parameter of a model from a checkpoint whose tensor names are the model's dotted
 * Hugging Face parameter paths, strictly: each parameter needs a tensor of the expected shape, and
 * each tensor must be used unless the model declares it ignorable (e.g. stale rotary buffers).
 */
public final class CheckpointLoader {

    private CheckpointLoader() {}

    /** The number of values of the parameters under {@code root} ({@link #expectedShapes}). */
    public static long parameterCount(Block root) {
        return expectedShapes(root).values().stream().mapToLong(Shape::size).sum();
    }

    /**
     * The expected shape of every parameter under {@code root}, keyed by dotted path: linear
     * layers from their sizes, other blocks through {@link ShapedParameters}.
     */
    public static Map<String, Shape> expectedShapes(Block root) {
        Map<String, Shape> out = new LinkedHashMap<>();
        ModuleTree.forEachModule(
                root,
                (path, block) -> {
                    if (block instanceof LoraLinear) {
                        LoraLinear l = (LoraLinear) block;
                        out.put(ModuleTree.join(path, "weight"), new Shape(l.getOutFeatures(), l.getInFeatures()));
                        if (l.getBias() != null) {
                            out.put(ModuleTree.join(path, "bias"), new Shape(l.getOutFeatures()));
                        }
                    } else if (block instanceof ShapedParameters) {
                        ((ShapedParameters) block)
                                .parameterShapes()
                                .forEach((name, shape) -> out.put(ModuleTree.join(path, name), shape));
                    } else if (block instanceof HfBlock && !((HfBlock) block).namedParameters().isEmpty()) {
                        throw new IllegalStateException(
                                "module '" + path + "' does not declare its parameter shapes");
                    }
                });
        return out;
    }

    /**
     * Checks {@code source} against the parameters of {@code root} without reading any tensor data:
     * every parameter has a tensor of its expected shape, and every tensor is a parameter or
     * ignorable. The model needs no arrays, so a merge can check a checkpoint of any size.
     *
     * @param root the model (before LoRA injection: adapter factors are not in a base checkpoint)
     * @param source the checkpoint
     * @param sourceName how to name the checkpoint in error messages (its path)
     * @param ignorable names of tensors the model may leave unused
     * @return the expected shape of every parameter, keyed by dotted path (= tensor name)
     * @throws CheckpointFormatException naming the tensor that is missing, unexpected, misshapen or
     *     not floating point
     */
    public static Map<String, Shape> check(
            Block root, TensorSource source, String sourceName, Predicate<String> ignorable) {
        Map<String, Shape> shapes = expectedShapes(root);
        Set<String> params = ModuleTree.namedParameters(root).keySet();
        TreeSet<String> unexpected = new TreeSet<>(source.names());
        unexpected.removeAll(params);
        unexpected.removeIf(ignorable);
        if (!unexpected.isEmpty()) {
            throw new CheckpointFormatException(
                    sourceName + ": unexpected tensor '" + unexpected.first() + "' (no such parameter in the model"
                            + (unexpected.size() > 1 ? "; " + (unexpected.size() - 1) + " more" : "") + ")");
        }
        for (String name : params) {
            if (!source.contains(name)) {
                throw new CheckpointFormatException(sourceName + ": missing tensor '" + name + "'");
            }
            TensorInfo info = source.info(name);
            Shape expected = shapes.get(name);
            if (!info.shape().equals(expected)) {
                throw new CheckpointFormatException(
                        sourceName + ": tensor '" + name + "' has shape " + info.shape() + ", expected " + expected);
            }
            // integers would load as they are and run as weights (a norm of 1065353216s)
            if (!info.dtype().isFloating()) {
                throw new CheckpointFormatException(sourceName + ": tensor '" + name + "' is " + info.dtype()
                        + "; weights must be floating point (F32, F16, BF16 or F64)");
            }
        }
        return shapes;
    }

    /**
     * Loads the base weights of {@code root} from {@code source}, after {@link #check}.
     *
     * @param root the model (before LoRA injection: adapter factors are not in a base checkpoint)
     * @param source the checkpoint
     * @param sourceName how to name the checkpoint in error messages (its path)
     * @param manager where the weights live
     * @param floatType the type of the loaded weights (FLOAT32 or FLOAT16)
     * @param ignorable names of tensors the model may leave unused
     * @throws CheckpointFormatException naming the tensor that is missing, unexpected, misshapen or
     *     not floating point; on this and any other failure the weights loaded so far are closed
     * @throws IllegalArgumentException if {@code floatType} is neither FLOAT32 nor FLOAT16
     */
    public static void load(
            Block root,
            TensorSource source,
            String sourceName,
            NDManager manager,
            DataType floatType,
            Predicate<String> ignorable) {
        TensorSource.requireFloatType(floatType); // before the first tensor, not after half the model
        check(root, source, sourceName, ignorable);
        List<NDArray> loaded = new ArrayList<>();
        try {
            for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(root).entrySet()) {
                NDArray array = source.load(manager, e.getKey(), floatType);
                if (Weights.assign(e.getValue(), array)) {
                    loaded.add(array);
                } else {
                    array.close();
                }
            }
        } catch (RuntimeException | Error e) {
            // a tensor that cannot load (a value float16 cannot hold, a short read) leaves nothing
            // behind in the caller's manager: the weights loaded so far may be gigabytes
            loaded.forEach(NDArray::close);
            throw e;
        }
    }
}
