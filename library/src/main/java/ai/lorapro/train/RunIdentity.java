package ai.lorapro.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.nn.ModuleTree;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What a checkpoint belongs to ({@value #FILE_NAME}): the base model (a fingerprint of the frozen
 * parameters' names and shapes), the method and LoRA settings, the training data, the global
 * batch and the optimizer and schedule settings. A resumed run must match every {@link #FIXED}
 * field; a {@link #CHANGEABLE} field may differ only when the user names it
 * ({@code --allow-resume-change}), since a silently changed learning rate or step count makes the
 * resumed run a different experiment.
 *
 * @param fields the values by field name, in a fixed order
 */
public record RunIdentity(Map<String, String> fields) {

    /** The file name inside a checkpoint directory. */
    public static final String FILE_NAME = "run_identity.json";

    /** Fields a resumed run must match. */
    public static final List<String> FIXED = List.of("base_model", "method", "r", "alpha", "rslora", "x_mode",
            "target_modules", "dataset", "global_batch", "seed");

    /** Fields a resumed run may change when the user names them. */
    public static final List<String> CHANGEABLE = List.of("lr", "min_lr", "warmup_ratio", "total_steps", "betas",
            "eps", "weight_decay", "clip_norm", "lora_dropout", "micro_batch", "fp16_frozen");

    /** The option that sets each field, for messages. */
    private static final Map<String, String> OPTIONS = Map.ofEntries(Map.entry("base_model", "--model"),
            Map.entry("method", "--method"), Map.entry("r", "--r"), Map.entry("alpha", "--alpha"),
            Map.entry("rslora", "--rslora"), Map.entry("x_mode", "--x-mode"), Map.entry("target_modules",
                    "--target-modules"), Map.entry("dataset", "--data"), Map.entry("global_batch", "--global-batch"),
            Map.entry("seed", "--seed"), Map.entry("lr", "--lr"), Map.entry("min_lr", "--min-lr"),
            Map.entry("warmup_ratio", "--warmup-ratio"), Map.entry("total_steps", "--max-steps/--epochs"),
            Map.entry("betas", "--beta1/--beta2"), Map.entry("eps", "--eps"), Map.entry("weight_decay",
                    "--weight-decay"), Map.entry("clip_norm", "--clip-norm"), Map.entry("lora_dropout",
                    "--lora-dropout"), Map.entry("micro_batch", "--micro-batch"), Map.entry("fp16_frozen",
                    "--fp16-frozen"));

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** Copies the map. */
    public RunIdentity {
        fields = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /**
     * The identity of a run.
     *
     * @param model the model prepared for the method (LoRA factors are left out of the fingerprint)
     * @param config the run settings
     * @param datasetFingerprint {@link DatasetFingerprint} of the training examples
     * @param totalSteps the run's optimizer steps
     */
    public static RunIdentity of(Block model, TrainConfig config, String datasetFingerprint, int totalSteps) {
        Map<String, String> f = new LinkedHashMap<>();
        f.put("base_model", baseModelFingerprint(model));
        f.put("method", config.getMethod().cliName());
        boolean lora = config.getMethod().usesAdapters();
        f.put("r", lora ? String.valueOf(config.getR()) : "-");
        f.put("alpha", lora ? String.valueOf(config.getAlpha()) : "-");
        f.put("rslora", lora ? String.valueOf(config.isRsLora()) : "-");
        f.put("x_mode", config.getXMode().id());
        f.put("target_modules", lora ? String.join(",", config.getTargetModules()) : "-");
        f.put("dataset", datasetFingerprint);
        f.put("global_batch", String.valueOf(config.getGlobalBatch()));
        f.put("seed", String.valueOf(config.getSeed()));
        f.put("lr", String.valueOf(config.getLr()));
        f.put("min_lr", String.valueOf(config.getMinLr()));
        f.put("warmup_ratio", String.valueOf(config.getWarmupRatio()));
        f.put("total_steps", String.valueOf(totalSteps));
        f.put("betas", config.getBeta1() + "," + config.getBeta2());
        f.put("eps", String.valueOf(config.getEps()));
        f.put("weight_decay", String.valueOf(config.getWeightDecay()));
        f.put("clip_norm", String.valueOf(config.getClipNorm()));
        f.put("lora_dropout", String.valueOf(config.getLoraDropout()));
        f.put("micro_batch", String.valueOf(config.getMicroBatch()));
        f.put("fp16_frozen", String.valueOf(config.isFp16Frozen()));
        return new RunIdentity(f);
    }

    /**
     * A SHA-256 over the sorted names and shapes of the model's parameters other than LoRA
     * factors: the same architecture and sizes give the same fingerprint (the weights' values are
     * not read).
     */
    static String baseModelFingerprint(Block model) {
        Map<String, String> shapes = new TreeMap<>();
        for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(model).entrySet()) {
            if (!e.getKey().contains("lora_")) {
                shapes.put(e.getKey(), e.getValue().getArray().getShape().toString());
            }
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            shapes.forEach((name, shape) -> sha.update((name + "=" + shape + "\n").getBytes(StandardCharsets.UTF_8)));
            return "sha256:" + HexFormat.of().formatHex(sha.digest()) + " (" + shapes.size() + " tensors)";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The identity as JSON text. */
    public String toJson() {
        JsonObject o = new JsonObject();
        fields.forEach(o::addProperty);
        return GSON.toJson(o) + "\n";
    }

    /**
     * Reads {@code dir/run_identity.json}.
     *
     * @throws CheckpointFormatException naming the file when it is missing or malformed
     */
    public static RunIdentity read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new CheckpointFormatException(file + ": checkpoint file missing (the checkpoint does not say what"
                    + " it belongs to)");
        }
        try {
            JsonObject o = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
            Map<String, String> f = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : o.entrySet()) {
                f.put(e.getKey(), e.getValue().getAsString());
            }
            return new RunIdentity(f);
        } catch (IOException e) {
            throw new CheckpointFormatException(file + ": cannot read: " + e.getMessage());
        } catch (JsonParseException | IllegalStateException | UnsupportedOperationException e) {
            throw new CheckpointFormatException(file + ": malformed run identity");
        }
    }

    /**
     * Refuses to resume a run whose identity differs from the checkpoint's, naming the first
     * field that differs.
     *
     * @param checkpoint the checkpoint directory, for messages
     * @param saved the checkpoint's identity
     * @param allowedChanges {@link #CHANGEABLE} fields the user allowed to differ ({@code all} for every one)
     * @throws InvalidInputException naming the field, both values and, for a changeable field, the flag
     */
    public void requireResumableFrom(Path checkpoint, RunIdentity saved, Set<String> allowedChanges) {
        for (String name : FIXED) {
            String was = saved.fields.get(name);
            String now = fields.get(name);
            if (!now.equals(was)) {
                throw new InvalidInputException("--resume " + checkpoint + ": field " + name + " (" + OPTIONS.get(name) + ") differs: checkpoint "
                        + (was == null ? "(missing)" : was) + ", this run " + now
                        + (name.equals("base_model") ? " (another base model)" : ""));
            }
        }
        for (String name : CHANGEABLE) {
            String was = saved.fields.get(name);
            String now = fields.get(name);
            if (!now.equals(was) && !allowedChanges.contains(name) && !allowedChanges.contains("all")) {
                throw new InvalidInputException("--resume " + checkpoint + ": field " + name + " (" + OPTIONS.get(name) + ") differs: checkpoint "
                        + (was == null ? "(missing)" : was) + ", this run " + now
                        + "; pass --allow-resume-change " + name + " if the change is deliberate");
            }
        }
    }
}
