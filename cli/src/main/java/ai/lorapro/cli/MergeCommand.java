package ai.lorapro.cli;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.lorapro.io.AdapterMerge;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.TensorDType;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.common.ConfigJson;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/**
 * {@code lorapro merge}: folds an adapter into the base weights and writes a plain Hugging Face
 * model directory (the base's parameters and dtypes, its config, tokenizer and other files), published
 * atomically. The checkpoint streams through tensor by tensor ({@link AdapterMerge}), so a model of
 * any size merges in a few megabytes beyond the JVM; nothing is loaded onto a device.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Merge a LoRA adapter into its base model and write a model directory.")
public final class MergeCommand implements Callable<Integer> {

    /**
     * Endings of weight files and their indexes in the formats Hugging Face repositories carry
     * (PyTorch, safetensors, TensorFlow, Flax, GGUF, ONNX, rust-bert, TFLite, NumPy, Keras, NeMo),
     * which are not copied from the base directory.
     */
    static final List<String> WEIGHT_SUFFIXES = List.of(".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5",
            ".msgpack", ".gguf", ".onnx", ".ot", ".tflite", ".npz", ".keras", ".nemo", ".index.json", ".index");

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model directory.")
    private Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter directory.")
    private Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The merged model directory.")
    private Path out;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "base (each tensor keeps the base's dtype), bf16, fp16 or fp32 (default: ${DEFAULT-VALUE}).")
    private String dtype = "base";

    @Option(names = "--shard-size", paramLabel = "SIZE",
            description = "Largest safetensors file, e.g. 5GB (10^9 bytes) or 512MiB (default: ${DEFAULT-VALUE}).")
    private String shardSize = "5GB";

    @Option(names = "--overwrite", description = "Replace a non-empty --out directory.")
    private boolean overwrite;

    @Override
    public Integer call() throws IOException {
        ModelArchitecture config = ModelFiles.config(model);
        TensorDType floatType = "base".equalsIgnoreCase(dtype.trim()) ? null : WeightFiles.dtype(dtype, "base");
        long maxShardBytes = WeightFiles.size(shardSize);
        new OutputDirectoryGuard("--out", out).protect("--model", model).protect("--adapter", adapter)
                .protectLinkTargets("--model", model).requireReplaceable(overwrite);
        ModelFiles.requireAdapter(adapter);
        PrintWriter log = spec.commandLine().getOut();
        long start = System.nanoTime();
        try (HfCheckpoint base = HfCheckpoint.open(model)) {
            // the model's structure alone (no arrays) checks the checkpoint and places the adapter
            Block structure = config.newModel(base.names());
            Map<String, Shape> parameters =
                    CheckpointLoader.check(structure, base, model.toString(), config.ignorableTensors());
            PeftAdapter.Layout layout = PeftAdapter.layout(adapter, structure, parameters::get);
            AdapterMerge.Written[] written = new AdapterMerge.Written[1];
            AtomicFiles.publishDirectory(out, dir -> {
                // the model's parameters: tensors it ignores (stale buffers, aliases of a tied table) stay behind
                written[0] = AdapterMerge.write(base, parameters.keySet(), layout, floatType, dir, maxShardBytes,
                        new MergeProgress(log));
                writeConfig(dir.resolve(ModelFamilies.CONFIG_FILE), floatType);
                copyOtherFiles(dir);
            });
            log.printf(Locale.ROOT, "merged %s into %s: %s (%d adapted layers, %.2f GB, %.1f s)%n", adapter, model,
                    out, layout.lora().size(), written[0].bytes() / 1e9, (System.nanoTime() - start) / 1e9);
        }
        log.flush();
        return ExitCodes.OK;
    }

    /**
     * The base's config.json; with {@code --dtype}, its {@code torch_dtype} and {@code dtype} (those
     * present, else {@code torch_dtype}) name the new type.
     */
    private void writeConfig(Path target, TensorDType floatType) throws IOException {
        Path source = model.resolve(ModelFamilies.CONFIG_FILE);
        if (floatType == null) {
            Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
            return;
        }
        JsonObject json = JsonParser.parseString(Files.readString(source, StandardCharsets.UTF_8)).getAsJsonObject();
        ConfigJson.nameDtype(json, floatType);
        Files.writeString(target, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json)
                + "\n", StandardCharsets.UTF_8);
    }

    /**
     * Copies the base directory's other regular files (tokenizer, generation and processor configs,
     * chat template, ...), but no weights and no adapter files ({@link #isWeights}): the merged
     * weights replace them. A symbolic link is copied only when it leads to a file inside the base
     * directory or into the Hugging Face hub cache's store ({@link #isHubBlob}: a snapshot's files,
     * and those of a {@code --local-dir} download, link there): the merged model is made to be
     * shared, and a link elsewhere (a cloned repository's {@code special_tokens_map.json ->
     * ~/.cache/huggingface/token}) would copy what it names into it.
     */
    private void copyOtherFiles(Path dir) throws IOException {
        Path realModel = model.toRealPath();
        List<String> skipped = new ArrayList<>();
        try (Stream<Path> files = Files.list(model)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                String name = file.getFileName().toString();
                if (Files.isDirectory(file)) {
                    skipped.add(name + "/");
                } else if (!Files.exists(file)) {
                    skipped.add(name + " (a link to nothing)");
                } else if (Files.isRegularFile(file) && !name.equals(ModelFamilies.CONFIG_FILE) && !isWeights(name)) {
                    if (Files.isSymbolicLink(file)) {
                        Path target = file.toRealPath();
                        if (!target.startsWith(realModel) && !isHubBlob(target)) {
                            spec.commandLine().getErr().println("lorapro: warning: " + file + " is a link to "
                                    + target + ", outside the model directory; it is not copied into " + out);
                            continue;
                        }
                    }
                    Files.copy(file, dir.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        }
        if (!skipped.isEmpty()) {
            skipped.sort(null);
            spec.commandLine().getErr().println("lorapro: warning: not copied into " + out + " (merge copies the"
                    + " files beside the weights): " + String.join(", ", skipped));
        }
    }

    /** Whether {@code file} (a real path) is a file of the hub cache's store: {@code models--*}{@code /blobs/<hash>}. */
    static boolean isHubBlob(Path file) {
        Path blobs = file.getParent();
        Path repo = blobs == null ? null : blobs.getParent();
        return repo != null && repo.getFileName() != null && blobs.getFileName().toString().equals("blobs")
                && repo.getFileName().toString().startsWith("models--");
    }

    /**
     * Whether a file is weights or their index (TensorFlow's {@code model.ckpt.data-*} pieces
     * included), or a PEFT adapter's file: a merged model would load with the unmerged values or as
     * an adapter.
     */
    static boolean isWeights(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.contains(".ckpt.") || lower.startsWith("adapter_")) {
            return true;
        }
        for (String suffix : WEIGHT_SUFFIXES) {
            if (lower.endsWith(suffix)) {
                return true;
            }
        }
        return false;
    }

    /** Prints how far the merge is, at most every ten seconds. */
    private static final class MergeProgress implements AdapterMerge.Progress {
        private static final long EVERY_NANOS = 10_000_000_000L;
        private final PrintWriter log;
        private long last = System.nanoTime();

        MergeProgress(PrintWriter log) {
            this.log = log;
        }

        @Override
        public void written(int tensors, int total, long bytes, long totalBytes) {
            long now = System.nanoTime();
            if (now - last >= EVERY_NANOS && tensors < total) {
                log.printf(Locale.ROOT, "merge: %d of %d tensors, %.2f of %.2f GB%n", tensors, total, bytes / 1e9,
                        totalBytes / 1e9);
                log.flush();
                last = now;
            }
        }
    }
}
