package ai.lorapro.io;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.nn.ModuleTree;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * PEFT's {@code modules_to_save}: whole modules that train beside the adapters (a classification
 * head) and travel with them. PEFT saves their parameters under {@code
 * base_model.model.<module path>.<parameter>} and lists the module names in {@code
 * adapter_config.json}; a listed name selects every module whose path is the name or ends with
 * {@code .name}.
 */
final class PeftModulesToSave {

    private static final String KEY_PREFIX = "base_model.model.";
    private static final String FIELD = "modules_to_save";

    private PeftModulesToSave() {}

    /**
     * The trainable parameters of {@code model} that are not LoRA factors, by adapter key: the
     * modules an adapter must carry to reproduce the trained model.
     */
    static Map<String, Parameter> trained(Block model) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        ModuleTree.namedParameters(model).forEach((name, p) -> {
            if (p.requiresGradient() && !name.contains(".lora_A.") && !name.contains(".lora_B.")) {
                out.put(KEY_PREFIX + name, p);
            }
        });
        return out;
    }

    /** The {@code modules_to_save} value for the parameters {@link #trained} found: null when none. */
    static JsonElement configValue(Map<String, Parameter> trained) {
        if (trained.isEmpty()) {
            return JsonNull.INSTANCE;
        }
        Set<String> modules = new TreeSet<>();
        for (String key : trained.keySet()) {
            modules.add(key.substring(KEY_PREFIX.length(), key.lastIndexOf('.')));
        }
        JsonArray array = new JsonArray();
        modules.forEach(array::add);
        return array;
    }

    /**
     * The module names listed in an adapter config, empty when the field is absent or null.
     *
     * @throws CheckpointFormatException when the field is neither null nor a list of strings
     */
    static List<String> read(Path file, JsonObject config) {
        JsonElement v = config.get(FIELD);
        List<String> names = new ArrayList<>();
        if (v == null || v.isJsonNull()) {
            return names;
        }
        if (!v.isJsonArray()) {
            throw new CheckpointFormatException(file + ": field '" + FIELD + "' is not a list");
        }
        for (JsonElement e : v.getAsJsonArray()) {
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw new CheckpointFormatException(file + ": field '" + FIELD + "' holds a non-string " + e);
            }
            names.add(e.getAsString());
        }
        return names;
    }

    /**
     * The paths of the parameters of the modules {@code names} selects in {@code model}, by adapter
     * key.
     *
     * @throws CheckpointFormatException when a name selects no module with parameters
     */
    static Map<String, String> select(Block model, List<String> names, Path configFile) {
        Set<String> params = ModuleTree.namedParameters(model).keySet();
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : names) {
            int before = out.size();
            for (String path : params) {
                String module = path.substring(0, Math.max(0, path.lastIndexOf('.')));
                if (ModuleTree.isNamed(module, name)) {
                    out.put(KEY_PREFIX + path, path);
                }
            }
            if (out.size() == before) {
                throw new CheckpointFormatException(configFile + ": " + FIELD + " names '" + name
                        + "', which is no module of this model: the adapter was trained on another model, or with a"
                        + " head that a task adds to the model (a CLIP image classifier's), which this model's"
                        + " checkpoint cannot hold (use such an adapter with its task: eval --task ... --adapter)");
            }
        }
        return out;
    }

    /**
     * Checks that {@code file} holds every key of {@code selected} (adapter key to parameter path)
     * in its parameter's shape, a floating-point tensor.
     *
     * @throws CheckpointFormatException naming the key otherwise
     */
    static void check(SafetensorsFile file, Map<String, String> selected, Function<String, Shape> parameterShape) {
        for (Map.Entry<String, String> e : selected.entrySet()) {
            if (!file.contains(e.getKey())) {
                throw new CheckpointFormatException(file.path() + ": missing key '" + e.getKey() + "' of "
                        + FIELD);
            }
            TensorInfo info = file.info(e.getKey());
            if (!info.dtype().isFloating()) {
                throw new CheckpointFormatException(file.path() + ": tensor '" + e.getKey() + "' has dtype "
                        + info.dtype());
            }
            Shape expected = parameterShape.apply(e.getValue());
            if (!info.shape().equals(expected)) {
                throw new CheckpointFormatException(file.path() + ": tensor '" + e.getKey() + "' has shape "
                        + info.shape() + ", the model needs " + expected);
            }
        }
    }
}
