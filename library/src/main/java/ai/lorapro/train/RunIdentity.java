package ai.lorapro.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.optim.OptimizerConfig;
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
 * ({@link RunConfig#allowedResumeChanges()}), since a silently changed learning rate or step count makes the
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
        f.put("method", config.method().id());
        boolean adapters = config.method().usesAdapters();
        LoraConfig lora = config.lora();
        OptimizerConfig optimizer = config.optimizer();
        f.put("r", adapters ? String.valueOf(lora.getR()) : "-");
        f.put("alpha", adapters ? String.valueOf(lora.getAlpha()) : "-");
        f.put("rslora", adapters ? String.valueOf(lora.isUseRsLora()) : "-");
        f.put("x_mode", optimizer.xMode().id());
        f.put("target_modules", !adapters ? "-" : lora.getTargetRegex() != null
                ? "regex:" + lora.getTargetRegex().pattern() : String.join(",", lora.getTargetModules()));
        f.put("dataset", datasetFingerprint);
        f.put("global_batch", String.valueOf(config.batch().globalBatch()));
        f.put("seed", String.valueOf(config.run().seed()));
        f.put("lr", String.valueOf(config.schedule().lr()));
        f.put("min_lr", String.valueOf(config.schedule().minLr()));
        f.put("warmup_ratio", String.valueOf(config.schedule().warmupRatio()));
        f.put("total_steps", String.valueOf(totalSteps));
        // written as floats, as the command line gives them
        f.put("betas", (float) optimizer.beta1() + "," + (float) optimizer.beta2());
        f.put("eps", String.valueOf((float) optimizer.eps()));
        f.put("weight_decay", String.valueOf(optimizer.weightDecay()));
        f.put("clip_norm", String.valueOf(config.run().clipNorm()));
        f.put("lora_dropout", String.valueOf(lora.getDropout()));
        f.put("micro_batch", String.valueOf(config.batch().microBatch()));
        f.put("fp16_frozen", String.valueOf(config.run().fp16Frozen()));
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
     * Where the checkpoint is when {@code dir} is near one rather than one: a run directory, its
     * {@code checkpoints} directory, or a checkpoint's {@code adapter}; empty otherwise.
     */
    private static String checkpointHint(Path dir) {
        Path parent = dir.getParent() != null ? dir.getParent() : dir.toAbsolutePath().getParent();
        if (parent != null && Files.isRegularFile(parent.resolve(FILE_NAME))) {
            return "; " + dir + " is inside the checkpoint " + parent + ": resume from that";
        }
        Path checkpoints = dir.resolve(TrainingEngine.CHECKPOINTS_DIR);
        Path latest = Checkpoints.latest(Files.isDirectory(checkpoints) ? checkpoints : dir);
        return latest == null ? "" : "; " + dir + " holds checkpoints: resume from one of them, such as the latest, "
                + latest;
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
                    + " it belongs to)" + checkpointHint(dir));
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
     * @throws ResumeMismatchException naming the field and both values
     */
    public void requireResumableFrom(Path checkpoint, RunIdentity saved, Set<String> allowedChanges) {
        for (String name : FIXED) {
            if (!fields.get(name).equals(saved.fields.get(name))) {
                throw new ResumeMismatchException(checkpoint, name, saved.fields.get(name), fields.get(name), false);
            }
        }
        for (String name : CHANGEABLE) {
            if (!fields.get(name).equals(saved.fields.get(name)) && !allowedChanges.contains(name)
                    && !allowedChanges.contains("all")) {
                throw new ResumeMismatchException(checkpoint, name, saved.fields.get(name), fields.get(name), true);
            }
        }
    }
}
