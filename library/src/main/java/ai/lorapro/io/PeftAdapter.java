package ai.lorapro.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.Finiteness;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Weights;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads and writes LoRA adapters in the Hugging Face PEFT layout: {@code adapter_config.json} and
 * {@code adapter_model.safetensors} with keys {@code base_model.model.<module>.lora_A.weight} [r,
 * in] and {@code .lora_B.weight} [out, r], plus the modules trained beside the adapters (a
 * classification head) as PEFT's {@code modules_to_save} ({@link PeftModulesToSave}). Adapters saved here load with {@code
 * PeftModel.from_pretrained}, and PEFT adapters load here, as long as they use plain LoRA.
 */
public final class PeftAdapter {

    /** The configuration file of an adapter directory. */
    public static final String CONFIG_NAME = "adapter_config.json";
    /** The weights file of an adapter directory. */
    public static final String WEIGHTS_NAME = "adapter_model.safetensors";
    /** The PEFT version whose config fields we write. */
    public static final String PEFT_VERSION = "0.21.0";

    private static final String KEY_PREFIX = "base_model.model.";
    /** {@code <module>.lora_A[.<adapter name>].weight}. */
    private static final Pattern KEY = Pattern.compile("(.+)\\.lora_([AB])(?:\\.([^.]+))?\\.weight");

    private PeftAdapter() {}

    /**
     * Saves the adapters of {@code model} to {@code adapterDir} (created if missing). Both files
     * are written in full before either replaces an older one ({@link AtomicFiles#writeAll}).
     *
     * @param baseModelNameOrPath written as {@code base_model_name_or_path}
     * @param taskType PEFT's task type, e.g. {@code CAUSAL_LM}, {@code SEQ_2_SEQ_LM}, or null
     * @throws InvalidInputException if the model has no adapter, or its adapters differ in
     *     hyper-parameters (PEFT would need per-module patterns), or {@code adapterDir} is a file
     */
    public static void save(Block model, Path adapterDir, String baseModelNameOrPath, String taskType) {
        Map<String, LoraLinear> adapted = LoraInjector.adaptedLayers(model);
        if (adapted.isEmpty()) {
            throw new InvalidInputException("cannot save " + adapterDir + ": the model has no LoRA adapter");
        }
        if (Files.exists(adapterDir) && !Files.isDirectory(adapterDir)) {
            throw new InvalidInputException("cannot save an adapter to " + adapterDir + ": it is a file, not a directory");
        }
        LoraConfig config = commonConfig(adapted);
        SafetensorsWriter writer = new SafetensorsWriter();
        for (Map.Entry<String, LoraLinear> e : adapted.entrySet()) {
            LoraLinear layer = e.getValue();
            String key = KEY_PREFIX + e.getKey();
            writer.add(key + ".lora_A.weight", layer.getLoraA().getArray());
            writer.add(key + ".lora_B.weight", layer.getLoraB().getArray());
        }
        Map<String, Parameter> trained = PeftModulesToSave.trained(model);
        trained.forEach((key, p) -> writer.add(key, p.getArray()));
        JsonObject json = configJson(model, adapted, config, baseModelNameOrPath, taskType);
        json.add("modules_to_save", PeftModulesToSave.configValue(trained));
        String text = new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create().toJson(json);
        // both written in full before either replaces an older adapter: a failure leaves that one whole
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(adapterDir.resolve(WEIGHTS_NAME), writer::writeTo);
        files.put(adapterDir.resolve(CONFIG_NAME), out -> out.write((text + "\n").getBytes(StandardCharsets.UTF_8)));
        AtomicFiles.writeAll(files);
    }

    private static LoraConfig commonConfig(Map<String, LoraLinear> adapted) {
        LoraConfig first = null;
        String firstPath = null;
        for (Map.Entry<String, LoraLinear> e : adapted.entrySet()) {
            LoraConfig c = e.getValue().getConfig();
            if (first == null) {
                first = c;
                firstPath = e.getKey();
            } else if (c.getR() != first.getR()
                    || c.getAlpha() != first.getAlpha()
                    || c.getDropout() != first.getDropout()
                    || c.isUseRsLora() != first.isUseRsLora()) {
                throw new InvalidInputException(
                        "cannot save a PEFT adapter: module "
                                + e.getKey()
                                + " has "
                                + c
                                + " but "
                                + firstPath
                                + " has "
                                + first
                                + "; all adapted modules must share r, alpha, dropout and rsLoRA");
            }
        }
        return first;
    }

    private static JsonObject configJson(
            Block model, Map<String, LoraLinear> adapted, LoraConfig config, String base, String taskType) {
        JsonObject o = new JsonObject();
        o.add("alora_invocation_tokens", JsonNull.INSTANCE);
        o.add("alpha_pattern", new JsonObject());
        o.add("arrow_config", JsonNull.INSTANCE);
        o.add("auto_mapping", JsonNull.INSTANCE);
        o.add("base_model_name_or_path", base == null ? JsonNull.INSTANCE : new JsonPrimitive(base));
        o.addProperty("bias", "none");
        o.add("corda_config", JsonNull.INSTANCE);
        o.addProperty("ensure_weight_tying", false);
        o.add("eva_config", JsonNull.INSTANCE);
        o.add("exclude_modules", JsonNull.INSTANCE);
        o.addProperty("fan_in_fan_out", false);
        o.addProperty("inference_mode", true);
        o.addProperty("init_lora_weights", true);
        o.add("kasa_config", JsonNull.INSTANCE);
        o.add("layer_replication", JsonNull.INSTANCE);
        o.add("layers_pattern", JsonNull.INSTANCE);
        o.add("layers_to_transform", JsonNull.INSTANCE);
        o.add("loftq_config", new JsonObject());
        o.add("lora_alpha", number(config.getAlpha()));
        o.addProperty("lora_bias", false);
        o.add("lora_dropout", shortest(config.getDropout()));
        o.add("lora_ga_config", JsonNull.INSTANCE);
        o.add("megatron_config", JsonNull.INSTANCE);
        o.addProperty("megatron_core", "megatron.core");
        o.add("modules_to_save", JsonNull.INSTANCE);
        o.add("monteclora_config", JsonNull.INSTANCE);
        o.addProperty("peft_type", "LORA");
        o.addProperty("peft_version", PEFT_VERSION);
        o.addProperty("qalora_group_size", 16);
        o.addProperty("r", config.getR());
        o.add("rank_pattern", new JsonObject());
        o.add("revision", JsonNull.INSTANCE);
        o.add("target_modules", targetModules(model, adapted));
        o.add("target_parameters", JsonNull.INSTANCE);
        o.add("task_type", taskType == null ? JsonNull.INSTANCE : new JsonPrimitive(taskType));
        o.add("trainable_token_indices", JsonNull.INSTANCE);
        o.add("use_bdlora", JsonNull.INSTANCE);
        o.addProperty("use_dora", false);
        o.addProperty("use_qalora", false);
        o.addProperty("use_rslora", config.isUseRsLora());
        o.add("velora_config", JsonNull.INSTANCE);
        return o;
    }

    /** PEFT writes lora_alpha as an int when it is one. */
    private static JsonPrimitive number(float value) {
        if (value == Math.rint(value) && Math.abs(value) < 1e9) {
            return new JsonPrimitive((long) value);
        }
        return shortest(value);
    }

    /** A float as its shortest decimal, as the user wrote it (0.05, not the double 0.05000000074505806). */
    private static JsonPrimitive shortest(float value) {
        return new JsonPrimitive(new java.math.BigDecimal(Float.toString(value)));
    }

    /**
     * The distinct last path segments of the adapted modules, sorted, as PEFT writes them; when
     * those names would also select linear layers that are not adapted (so that loading would
     * adapt more than was saved), a regex matching exactly the adapted paths instead.
     */
    private static JsonElement targetModules(Block model, Map<String, LoraLinear> adapted) {
        Set<String> names = new TreeSet<>();
        for (String path : adapted.keySet()) {
            names.add(path.substring(path.lastIndexOf('.') + 1));
        }
        boolean exact = true;
        for (Map.Entry<String, Block> e : ModuleTree.namedModules(model).entrySet()) {
            if (e.getValue() instanceof LoraLinear && !adapted.containsKey(e.getKey())) {
                String last = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
                if (names.contains(last)) {
                    exact = false;
                    break;
                }
            }
        }
        if (exact) {
            JsonArray array = new JsonArray();
            names.forEach(array::add);
            return array;
        }
        // module paths are identifiers and digits joined by dots: only the dots need escaping, in
        // a form that Python's re reads the same way
        List<String> alternatives = new ArrayList<>();
        for (String path : adapted.keySet()) {
            alternatives.add(path.replace(".", "\\."));
        }
        return new JsonPrimitive("^(?:" + String.join("|", alternatives) + ")$");
    }

    /**
     * Reads {@code adapter_config.json} into a {@link LoraConfig}.
     *
     * @throws CheckpointFormatException if the file is missing, malformed or a field has the wrong
     *     type
     * @throws InvalidInputException if it asks for something that changes the maths and that we do
     *     not implement (DoRA, per-module ranks, fan-in-fan-out, bias training, activated LoRA,
     *     Arrow routing, ...), naming the field
     */
    public static LoraConfig readConfig(Path adapterDir) {
        Path file = adapterDir.resolve(CONFIG_NAME);
        if (!Files.exists(file)) {
            // a training checkpoint holds its adapter one level down
            Path inner = adapterDir.resolve("adapter");
            throw new CheckpointFormatException(file + " does not exist" + (Files.isRegularFile(inner.resolve(CONFIG_NAME))
                    ? ": " + adapterDir + " is a training checkpoint; its adapter is " + inner
                    : ": a PEFT adapter directory holds " + CONFIG_NAME + " and " + WEIGHTS_NAME));
        }
        JsonObject o = JsonFiles.readObject(file);
        ConfigReader c = new ConfigReader(file, o);
        String peftType = c.string("peft_type", "LORA");
        if (!"LORA".equals(peftType)) {
            throw c.unsupported("peft_type", "\"" + peftType + "\" (only LORA is supported)");
        }
        c.requireFalse("use_dora");
        c.requireFalse("fan_in_fan_out");
        c.requireFalse("lora_bias");
        c.requireFalse("use_qalora");
        c.requireEmpty("rank_pattern");
        c.requireEmpty("alpha_pattern");
        c.requireEmpty("layers_to_transform");
        c.requireEmpty("layer_replication");
        c.requireEmpty("exclude_modules");
        c.requireEmpty("target_parameters");
        c.requireEmpty("trainable_token_indices");
        // variants whose forward pass differs from plain LoRA's: activated LoRA (only after the
        // invocation tokens) and Arrow's routing between adapters
        c.requireEmpty("alora_invocation_tokens");
        c.requireEmpty("arrow_config");
        String bias = c.string("bias", "none");
        if (!"none".equals(bias)) {
            throw c.unsupported("bias", "\"" + bias + "\" (only \"none\" is supported)");
        }
        LoraConfig.Builder b = LoraConfig.builder();
        b.setR(c.positiveInt("r", 8));
        b.setAlpha((float) c.number("lora_alpha", 8));
        b.optDropout((float) c.number("lora_dropout", 0));
        b.optUseRsLora(c.bool("use_rslora", false));
        b.optInit(c.init());
        JsonElement targets = o.get("target_modules");
        if (targets == null || targets.isJsonNull()) {
            throw c.unsupported(
                    "target_modules", "null (PEFT's per-architecture defaults are not known here; list the modules)");
        }
        if (targets.isJsonPrimitive() && targets.getAsJsonPrimitive().isString()) {
            String s = targets.getAsString();
            if (LoraConfig.ALL_LINEAR.equals(s)) {
                b.optTargetModules(LoraConfig.ALL_LINEAR);
            } else {
                try {
                    b.optTargetRegex(s);
                } catch (ai.lorapro.InvalidFieldException e) {
                    throw new CheckpointFormatException(file + ": field '" + e.field() + "' " + e.problem(), e);
                }
            }
        } else if (targets.isJsonArray()) {
            List<String> names = new ArrayList<>();
            for (JsonElement el : targets.getAsJsonArray()) {
                if (!el.isJsonPrimitive() || !el.getAsJsonPrimitive().isString()) {
                    throw new CheckpointFormatException(file + ": field 'target_modules' holds a non-string " + el);
                }
                names.add(el.getAsString());
            }
            if (names.isEmpty()) {
                throw new CheckpointFormatException(file + ": field 'target_modules' is empty");
            }
            b.optTargetModules(names);
        } else {
            throw new CheckpointFormatException(file + ": field 'target_modules' is neither a list nor a string");
        }
        try {
            return b.build();
        } catch (ai.lorapro.InvalidFieldException e) {
            throw new CheckpointFormatException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Where the tensors of an adapter directory go in a model, checked against the model.
     *
     * @param weights the adapter's {@code adapter_model.safetensors}
     * @param config its {@code adapter_config.json}
     * @param lora per adapted module path, the keys of its A and B in {@code weights}
     * @param saved per {@code modules_to_save} key in {@code weights}, the model parameter it replaces
     */
    public record Layout(Path weights, LoraConfig config, Map<String, LoraKeys> lora, Map<String, String> saved) {

        /** Unmodifiable copies. */
        public Layout {
            lora = Collections.unmodifiableMap(new LinkedHashMap<>(lora));
            saved = Collections.unmodifiableMap(new LinkedHashMap<>(saved));
        }
    }

    /**
     * The keys of one module's factors.
     *
     * @param a the key of lora_A [r, in]
     * @param b the key of lora_B [out, r]
     */
    public record LoraKeys(String a, String b) {}

    /**
     * Checks an adapter directory against a model and says where each of its tensors goes, without
     * reading any tensor data. A model without adapters then gets them: this injects the LoRA layers
     * that {@code adapter_config.json} asks for (without arrays if the model has none). A model that
     * has adapters must have them as the file does (the same modules, r, {@code lora_alpha} and
     * {@code use_rslora}). The model's structure is all that is needed, so a merge can check an
     * adapter for a model too large to load. Everything is checked before the model is changed: a
     * refused adapter leaves it as it was.
     *
     * @param parameterShape the shape of a model parameter, by dotted path
     * @throws CheckpointFormatException naming the key or module if the file names a module the
     *     model lacks, misses a key of an adapted module, holds an unexpected key, or a shape or
     *     rank differs; naming the module and the fields if the model's adapters are scaled
     *     otherwise
     * @throws InvalidInputException if the weights are a pickle, or the configuration asks for what
     *     we do not implement (see {@link #readConfig})
     */
    public static Layout layout(Path adapterDir, Block model, Function<String, Shape> parameterShape) {
        Checked checked = check(adapterDir, model, parameterShape);
        checked.injectIfNeeded(model);
        return checked.layout();
    }

    /** A layout checked against a model, and whether the model still needs its adapters injected. */
    private record Checked(Layout layout, Map<String, LoraLinear> layers, boolean inject) {

        void injectIfNeeded(Block model) {
            if (inject) {
                LoraInjector.inject(model, layout.config(), LoraInjector.UnmatchedNames.WARN);
            }
        }
    }

    /**
     * Checks what can be checked of an adapter without a model, in a moment: its config, and a
     * weights file in safetensors whose header reads (so that a command can refuse a mistyped or
     * broken adapter before it spends minutes loading the base model).
     *
     * @throws CheckpointFormatException naming the file if the config or the weights are missing or
     *     malformed
     * @throws InvalidInputException if the weights are a pickle, or the config asks for what we do
     *     not implement (see {@link #readConfig})
     */
    public static void requireReadable(Path adapterDir) {
        readConfig(adapterDir);
        SafetensorsFile.open(weightsFile(adapterDir)).close();
    }

    /** The adapter's safetensors weights, which must exist (a pickle beside them is refused by name). */
    private static Path weightsFile(Path adapterDir) {
        Path weights = adapterDir.resolve(WEIGHTS_NAME);
        if (!Files.isRegularFile(weights)) {
            Path pickle = adapterDir.resolve("adapter_model.bin");
            if (Files.exists(pickle)) {
                throw new InvalidInputException(
                        pickle
                                + " is a PyTorch pickle, which is never read because unpickling can run"
                                + " code: convert it to safetensors (" + WEIGHTS_NAME
                                + ", e.g. model.save_pretrained(dir, safe_serialization=True))");
            }
            throw new CheckpointFormatException(weights + ": adapter weights file does not exist");
        }
        return weights;
    }

    /** {@link #layout} without changing the model. */
    private static Checked check(Path adapterDir, Block model, Function<String, Shape> parameterShape) {
        LoraConfig config = readConfig(adapterDir);
        Path configFile = adapterDir.resolve(CONFIG_NAME);
        Path weights = weightsFile(adapterDir);
        Map<String, LoraLinear> adapted = LoraInjector.adaptedLayers(model);
        boolean inject = adapted.isEmpty();
        if (inject) {
            try {
                adapted = LoraInjector.targets(model, config, LoraInjector.UnmatchedNames.WARN);
            } catch (InvalidInputException e) {
                // from the adapter's config, not from an option: say which file, and what it was saved for
                throw new CheckpointFormatException(configFile + ": " + e.getMessage() + savedFor(configFile), e);
            }
        } else {
            requireSameScaling(adapted, config, configFile);
        }
        Map<String, String> saved = PeftModulesToSave.select(model,
                PeftModulesToSave.read(configFile, JsonFiles.readObject(configFile)), configFile);
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            Map<String, LoraKeys> keys = matchKeys(file, model, adapted, config, saved.keySet());
            PeftModulesToSave.check(file, saved, parameterShape);
            return new Checked(new Layout(weights, config, keys, saved), adapted, inject);
        }
    }

    /**
     * " (saved for base model M, task_type T: an adapter of another model?)" from the config's
     * {@code base_model_name_or_path} and {@code task_type}, as far as it names them.
     */
    private static String savedFor(Path configFile) {
        JsonObject json = JsonFiles.readObject(configFile);
        List<String> what = new ArrayList<>();
        for (String[] field : new String[][] {{"base_model_name_or_path", "base model "}, {"task_type", "task_type "}}) {
            JsonElement value = json.get(field[0]);
            if (value != null && value.isJsonPrimitive()) {
                what.add(field[1] + value.getAsString());
            }
        }
        return what.isEmpty() ? "" : " (saved for " + String.join(", ", what) + ": an adapter of another model?)";
    }

    /**
     * Refuses an adapter file whose r or scaling differs from that of the model's adapters: its
     * factors would load and be scaled as the model's adapters are, silently.
     */
    private static void requireSameScaling(Map<String, LoraLinear> adapted, LoraConfig config, Path configFile) {
        for (Map.Entry<String, LoraLinear> e : adapted.entrySet()) {
            LoraLinear layer = e.getValue();
            LoraConfig own = layer.getConfig();
            if (own.getR() != config.getR() || layer.getScaling() != config.getScaling()) {
                throw new CheckpointFormatException(configFile + ": r = " + config.getR() + ", lora_alpha = "
                        + config.getAlpha() + ", use_rslora = " + config.isUseRsLora() + " (scaling "
                        + config.getScaling() + "), but module " + e.getKey() + " of the model is adapted with r = "
                        + own.getR() + ", lora_alpha = " + own.getAlpha() + ", use_rslora = " + own.isUseRsLora()
                        + " (scaling " + layer.getScaling() + ")");
            }
        }
    }

    /**
     * Loads an adapter into {@code model}. If the model has no adapter yet, adapters are first
     * injected per {@code adapter_config.json}. Every tensor of {@code adapter_model.safetensors}
     * is checked against the model before the model is changed ({@link #layout}), so a bad file
     * leaves the model as it was; then every tensor is read, and one that holds NaN or infinity is
     * refused before any parameter is assigned (adapters injected for the file stay, as initialised).
     *
     * @return the adapted module paths
     * @throws CheckpointFormatException as {@link #layout} does, or naming a tensor that holds NaN
     *     or infinity
     * @throws IllegalStateException if the model's base weights hold no arrays yet
     */
    public static List<String> load(Path adapterDir, Block model) {
        Map<String, Parameter> params = ModuleTree.namedParameters(model);
        Checked checked = check(adapterDir, model, path -> params.get(path).getArray().getShape());
        for (Map.Entry<String, LoraLinear> e : checked.layers().entrySet()) {
            if (!e.getValue().getWeight().isInitialized()) {
                // A and B are created on W0's device, so W0 must exist first
                throw new IllegalStateException(
                        "load or initialize the model's weights before its adapter: " + e.getKey() + " has no arrays");
            }
        }
        checked.injectIfNeeded(model);
        Layout layout = checked.layout();
        Map<String, LoraLinear> adapted = LoraInjector.adaptedLayers(model);
        Map<String, Parameter> targets = new LinkedHashMap<>();
        layout.lora().forEach((module, keys) -> {
            LoraLinear layer = adapted.get(module);
            targets.put(keys.a(), layer.getLoraA());
            targets.put(keys.b(), layer.getLoraB());
        });
        layout.saved().forEach((key, path) -> targets.put(key, params.get(path)));
        assignAll(layout.weights(), targets);
        return new ArrayList<>(adapted.keySet());
    }

    /**
     * Checks that every tensor named in {@code targets} is finite, then assigns them one at a time:
     * a tensor holding NaN or infinity leaves every parameter as it was. The file is read twice (it is
     * memory-mapped), so that at most one tensor is held beside the model at a time.
     *
     * @throws CheckpointFormatException naming the file and the tensor that is not finite
     */
    private static void assignAll(Path weights, Map<String, Parameter> targets) {
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            for (Map.Entry<String, Parameter> target : targets.entrySet()) {
                NDArray array = target.getValue().getArray();
                try (NDArray value = file.load(array.getManager(), target.getKey(), array.getDataType())) {
                    if (!Finiteness.isAllFinite(value)) {
                        throw new CheckpointFormatException(weights + ": tensor '" + target.getKey()
                                + "' holds NaN or infinity (as " + array.getDataType() + ")");
                    }
                }
            }
            for (Map.Entry<String, Parameter> target : targets.entrySet()) {
                NDArray array = target.getValue().getArray();
                NDArray value = file.load(array.getManager(), target.getKey(), array.getDataType());
                boolean kept = false;
                try {
                    kept = Weights.assign(target.getValue(), value);
                } finally {
                    if (!kept) {
                        value.close(); // copied into the parameter, or the assignment failed
                    }
                }
            }
        }
    }

    /**
     * Checks every key of the file against the model and returns, per adapted module, its A and B
     * keys.
     */
    private static Map<String, LoraKeys> matchKeys(
            SafetensorsFile file, Block model, Map<String, LoraLinear> adapted, LoraConfig config, Set<String> saved) {
        Path path = file.path();
        Map<String, Block> modules = ModuleTree.namedModules(model);
        Map<String, String[]> keys = new LinkedHashMap<>();
        for (String key : file.names()) {
            if (saved.contains(key)) {
                continue;
            }
            Matcher m = key.startsWith(KEY_PREFIX) ? KEY.matcher(key.substring(KEY_PREFIX.length())) : null;
            if (m == null || !m.matches()) {
                throw new CheckpointFormatException(path + ": unexpected key '" + key + "' (not a LoRA A/B weight)");
            }
            String module = m.group(1);
            int slot = "A".equals(m.group(2)) ? 0 : 1;
            LoraLinear layer = adapted.get(module);
            if (layer == null) {
                String why = modules.get(module) instanceof LoraLinear
                        ? "is not adapted by the configuration"
                        : "does not exist in the model";
                throw new CheckpointFormatException(path + ": key '" + key + "': module " + module + " " + why);
            }
            String[] pair = keys.computeIfAbsent(module, k -> new String[2]);
            if (pair[slot] != null) {
                throw new CheckpointFormatException(
                        path + ": keys '" + pair[slot] + "' and '" + key + "' are both lora_" + m.group(2) + " of " + module);
            }
            pair[slot] = key;
            checkShape(file, key, layer, slot, config);
        }
        for (String module : adapted.keySet()) {
            String[] pair = keys.get(module);
            for (int slot = 0; slot < 2; slot++) {
                if (pair == null || pair[slot] == null) {
                    throw new CheckpointFormatException(
                            path
                                    + ": missing key '"
                                    + KEY_PREFIX
                                    + module
                                    + (slot == 0 ? ".lora_A.weight" : ".lora_B.weight")
                                    + "' for adapted module "
                                    + module);
                }
            }
        }
        Map<String, LoraKeys> out = new LinkedHashMap<>();
        for (String module : adapted.keySet()) {
            String[] pair = keys.get(module);
            out.put(module, new LoraKeys(pair[0], pair[1]));
        }
        return out;
    }

    private static void checkShape(SafetensorsFile file, String key, LoraLinear layer, int slot, LoraConfig config) {
        TensorInfo info = file.info(key);
        if (!info.dtype().isFloating()) {
            throw new CheckpointFormatException(file.path() + ": tensor '" + key + "' has dtype " + info.dtype());
        }
        long[] shape = info.shape().getShape();
        int r = config.getR(); // the model's adapters have it too (checked, or injected with it)
        if (shape.length == 2) {
            long fileR = slot == 0 ? shape[0] : shape[1];
            if (fileR != config.getR()) {
                throw new CheckpointFormatException(
                        file.path() + ": tensor '" + key + "' has rank " + fileR + " but adapter_config.json says r="
                                + config.getR());
            }
        }
        long[] expected = slot == 0
                ? new long[] {r, layer.getInFeatures()}
                : new long[] {layer.getOutFeatures(), r};
        if (!Arrays.equals(shape, expected)) {
            throw new CheckpointFormatException(
                    file.path() + ": tensor '" + key + "' has shape " + Arrays.toString(shape) + ", the model needs "
                            + Arrays.toString(expected));
        }
    }

    /** Typed access to adapter_config.json fields, with errors naming the file and field. */
    private static final class ConfigReader {
        private final Path file;
        private final JsonObject o;

        ConfigReader(Path file, JsonObject o) {
            this.file = file;
            this.o = o;
        }

        InvalidInputException unsupported(String field, String value) {
            return new InvalidInputException(file + ": field '" + field + "' = " + value + " is not supported");
        }

        private CheckpointFormatException wrongType(String field, String expected) {
            return new CheckpointFormatException(file + ": field '" + field + "' is not " + expected);
        }

        private JsonElement get(String field) {
            JsonElement v = o.get(field);
            return v == null || v.isJsonNull() ? null : v;
        }

        void requireFalse(String field) {
            if (bool(field, false)) {
                throw unsupported(field, "true");
            }
        }

        /** Null, an empty object or an empty list are fine; anything else changes the maths. */
        void requireEmpty(String field) {
            JsonElement v = get(field);
            if (v == null
                    || (v.isJsonObject() && v.getAsJsonObject().size() == 0)
                    || (v.isJsonArray() && v.getAsJsonArray().size() == 0)) {
                return;
            }
            throw unsupported(field, abbreviate(v.toString()));
        }

        String string(String field, String fallback) {
            JsonElement v = get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw wrongType(field, "a string");
            }
            return v.getAsString();
        }

        boolean bool(String field, boolean fallback) {
            JsonElement v = get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isBoolean()) {
                throw wrongType(field, "true or false");
            }
            return v.getAsBoolean();
        }

        double number(String field, double fallback) {
            JsonElement v = get(field);
            if (v == null) {
                return fallback;
            }
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
                throw wrongType(field, "a number");
            }
            double d = v.getAsDouble();
            if (!Double.isFinite(d)) {
                throw wrongType(field, "a finite number");
            }
            return d;
        }

        int positiveInt(String field, int fallback) {
            double d = number(field, fallback);
            if (d != Math.rint(d) || d < 1 || d > Integer.MAX_VALUE) {
                throw wrongType(field, "a positive integer");
            }
            return (int) d;
        }

        /**
         * {@code init_lora_weights} only matters for fresh adapters, except for schemes that also
         * rewrite the base weights (PiSSA, OLoRA, LoftQ, ...), which the saved adapter depends on.
         * Orthogonal and EVA initialisation set the factors alone (B A = 0 at the start), so their
         * trained adapters are plain LoRA.
         */
        LoraConfig.Init init() {
            JsonElement v = get("init_lora_weights");
            if (v == null || (v.isJsonPrimitive() && v.getAsJsonPrimitive().isBoolean())) {
                return LoraConfig.Init.KAIMING_UNIFORM;
            }
            if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString() && "gaussian".equals(v.getAsString())) {
                return LoraConfig.Init.GAUSSIAN;
            }
            if (v.isJsonPrimitive() && v.getAsJsonPrimitive().isString()
                    && List.of("orthogonal", "eva").contains(v.getAsString())) {
                return LoraConfig.Init.KAIMING_UNIFORM;
            }
            throw unsupported("init_lora_weights", abbreviate(v.toString()));
        }

        private static String abbreviate(String s) {
            return s.length() <= 60 ? s : s.substring(0, 60) + "...";
        }
    }
}
