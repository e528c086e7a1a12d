package ai.lorapro.cli;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.AdapterMerge;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.TensorDType;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.CheckpointLoader;

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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lorapro merge}: folds an adapter into the base weights and writes a plain Hugging Face
 * model directory (the base's tensors and dtypes, its config and tokenizer files), published
 * atomically. The checkpoint streams through tensor by tensor ({@link AdapterMerge}), so a model of
 * any size merges in a few megabytes beyond the JVM; nothing is loaded onto a device.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Merge a LoRA adapter into its base model and write a model directory.")
public final class MergeCommand implements Callable<Integer> {

    /** Files copied unchanged from the base model directory when present. */
    static final List<String> COPIED_FILES = List.of("generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json");

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
        TensorDType floatType = "base".equalsIgnoreCase(dtype.trim()) ? null : RandomModelCommand.parseDtype(dtype);
        long maxShardBytes = RandomModelCommand.parseSize(shardSize);
        new OutputDirectoryGuard("--out", out).protect("--model", model).protect("--adapter", adapter)
                .requireReplaceable(overwrite);
        if (!Files.isDirectory(adapter)) {
            throw new InvalidInputException("--adapter: " + adapter + " is not a directory");
        }
        PrintWriter log = spec.commandLine().getOut();
        long start = System.nanoTime();
        try (HfCheckpoint base = HfCheckpoint.open(model)) {
            // the model's structure alone (no arrays) checks the checkpoint and places the adapter
            Block structure = config.newModel(base.names());
            Map<String, Shape> shapes =
                    CheckpointLoader.check(structure, base, model.toString(), config.ignorableTensors());
            PeftAdapter.Layout layout = PeftAdapter.layout(adapter, structure, shapes::get);
            long totalBytes = 0;
            for (String name : base.names()) {
                TensorInfo info = base.info(name);
                totalBytes += info.elementCount()
                        * (floatType != null && info.dtype().isFloating() ? floatType : info.dtype()).byteSize();
            }
            ProgressLine progress = new ProgressLine(log, totalBytes);
            AtomicFiles.publishDirectory(out, dir -> {
                AdapterMerge.write(base, layout, floatType, dir, maxShardBytes, progress);
                writeConfig(dir.resolve(ModelFamilies.CONFIG_FILE), floatType);
                for (String name : COPIED_FILES) {
                    if (Files.isRegularFile(model.resolve(name))) {
                        Files.copy(model.resolve(name), dir.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
                    }
                }
            });
            log.printf(Locale.ROOT, "merged %s into %s: %s (%d adapted layers, %.2f GB, %.1f s)%n", adapter, model,
                    out, layout.lora().size(), totalBytes / 1e9, (System.nanoTime() - start) / 1e9);
        }
        log.flush();
        return ExitCodes.OK;
    }

    /** The base's config.json; with {@code --dtype}, its {@code torch_dtype} (or {@code dtype}) says the new one. */
    private void writeConfig(Path target, TensorDType floatType) throws IOException {
        Path source = model.resolve(ModelFamilies.CONFIG_FILE);
        if (floatType == null) {
            Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
            return;
        }
        JsonObject json = JsonParser.parseString(Files.readString(source, StandardCharsets.UTF_8)).getAsJsonObject();
        json.addProperty(json.has("dtype") ? "dtype" : "torch_dtype", floatType.torchName());
        Files.writeString(target, new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json)
                + "\n", StandardCharsets.UTF_8);
    }

    /** Prints how far the merge is, at most every ten seconds. */
    private static final class ProgressLine implements AdapterMerge.Progress {
        private static final long EVERY_NANOS = 10_000_000_000L;
        private final PrintWriter log;
        private final long totalBytes;
        private long last = System.nanoTime();

        ProgressLine(PrintWriter log, long totalBytes) {
            this.log = log;
            this.totalBytes = totalBytes;
        }

        @Override
        public void written(int tensors, int total, long bytes) {
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
