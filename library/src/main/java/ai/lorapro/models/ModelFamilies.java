package ai.lorapro.models;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.clip.ClipFamily;
import ai.lorapro.models.common.ConfigJson;
import ai.lorapro.models.llama.LlamaFamily;
import ai.lorapro.models.t5.T5Family;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The registry of model families, keyed by {@code config.json}'s {@code model_type}: every
 * command finds the family of a model directory here and never names a family itself. The
 * library's families are listed below; another family (in a user's code or a test) joins with
 * one {@link #register} call.
 */
public final class ModelFamilies {

    /** The config file of a Hugging Face model directory. */
    public static final String CONFIG_FILE = "config.json";

    private static final Map<String, ModelFamily> FAMILIES = new LinkedHashMap<>();

    static {
        register(new LlamaFamily());
        register(new T5Family());
        register(new ClipFamily());
    }

    private ModelFamilies() {}

    /**
     * Adds a family; registering the same family class again is a no-op.
     *
     * @throws IllegalArgumentException if another family already reads its {@code model_type}
     */
    public static synchronized void register(ModelFamily family) {
        ModelFamily previous = FAMILIES.get(family.modelType());
        if (previous != null && previous.getClass() != family.getClass()) {
            throw new IllegalArgumentException("model_type '" + family.modelType() + "' is already read by "
                    + previous.getClass().getName());
        }
        FAMILIES.putIfAbsent(family.modelType(), family);
    }

    /** The registered {@code model_type}s, in registration order. */
    public static synchronized List<String> modelTypes() {
        return new ArrayList<>(FAMILIES.keySet());
    }

    /**
     * The family of {@code modelType}.
     *
     * @throws InvalidInputException when no family reads it
     */
    public static synchronized ModelFamily forModelType(String modelType) {
        ModelFamily family = FAMILIES.get(modelType);
        if (family == null) {
            throw new InvalidInputException("unknown model_type '" + modelType + "' (known: "
                    + String.join(", ", FAMILIES.keySet()) + ")");
        }
        return family;
    }

    /**
     * Parses a {@code config.json} with the family its {@code model_type} names.
     *
     * @throws InvalidInputException naming the file and field when it is unreadable, has no or an
     *     unknown {@code model_type}, or a bad value
     */
    public static ModelArchitecture readConfig(Path configFile) {
        ConfigJson json = ConfigJson.read(configFile);
        String type = json.optString("model_type", null);
        if (type == null) {
            throw json.fail("model_type", "is required (known: " + String.join(", ", modelTypes()) + ")");
        }
        ModelFamily family;
        synchronized (ModelFamilies.class) {
            family = FAMILIES.get(type);
        }
        if (family == null) {
            throw json.fail("model_type", "is '" + type + "', expected one of " + String.join(", ", modelTypes()));
        }
        return family.read(json);
    }

    /**
     * The architecture of a model directory, from its {@code config.json}, read before any weight.
     *
     * @throws InvalidInputException when the directory has no config.json or it is unusable
     */
    public static ModelArchitecture readModelDir(Path modelDir) {
        Path file = modelDir.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + " does not exist" + checkpointHint(modelDir));
        }
        return readConfig(file);
    }

    /**
     * What to do with a training checkpoint, an adapter or a file given as a model directory, to
     * follow "config.json does not exist": a LoRA checkpoint's adapter, or an adapter, goes with its
     * base model; a full fine-tuning checkpoint needs the base model's config and tokenizer beside its
     * weights; a file is not a directory. Empty for any other directory.
     *
     * @param dir the path given as the model directory
     */
    public static String checkpointHint(Path dir) {
        if (Files.isRegularFile(dir)) {
            return ": " + dir + " is a file; give the model's directory (config.json and its safetensors weights)";
        }
        if (Files.isRegularFile(dir.resolve("adapter_config.json"))) {
            return ": " + dir + " holds a PEFT adapter (adapter_config.json), not a model; it goes with its base model"
                    + " (generate, eval and merge take it as --adapter)";
        }
        if (!Files.isRegularFile(dir.resolve("trainer_state.json"))) {
            return "";
        }
        Path adapter = dir.resolve("adapter");
        if (Files.isRegularFile(adapter.resolve("adapter_config.json"))) {
            return ": " + dir + " is a LoRA training checkpoint; its adapter " + adapter + " goes with the base"
                    + " model (generate, eval and merge take it as --adapter; train continues it with --resume "
                    + dir + ")";
        }
        return ": " + dir + " is a training checkpoint; copy the base model's config.json and tokenizer.json into"
                + " it to use it as a model (docs/training.md)";
    }
}
