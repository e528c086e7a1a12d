package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.nn.ModuleTree;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lorapro merge}: folds an adapter into the base weights and writes a plain Hugging Face
 * model directory (float32 {@code model.safetensors}, the base's config and tokenizer files),
 * published atomically.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Merge a LoRA adapter into its base model and write a model directory.")
public final class MergeCommand implements Callable<Integer> {

    /** Files copied unchanged from the base model directory when present. */
    static final List<String> COPIED_FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json", "special_tokens_map.json");

    @Spec
    private CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Base model directory.")
    private Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "PEFT adapter directory.")
    private Path adapter;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "The merged model directory.")
    private Path out;

    @Option(names = "--overwrite", description = "Replace a non-empty --out directory.")
    private boolean overwrite;

    @Override
    public Integer call() {
        ModelArchitecture config = ModelFiles.config(model);
        new OutputDirectoryGuard("--out", out).protect("--model", model).protect("--adapter", adapter)
                .requireReplaceable(overwrite);
        try (NDManager manager = NDManager.newBaseManager()) {
            Block m = ModelFiles.load(config, model, manager, DataType.FLOAT32);
            ModelFiles.applyAdapter(m, adapter);
            LoraInjector.mergeAll(m);
            SafetensorsWriter writer = new SafetensorsWriter();
            for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(m).entrySet()) {
                if (!e.getKey().contains(".lora_A.") && !e.getKey().contains(".lora_B.")) {
                    writer.add(e.getKey(), e.getValue().getArray());
                }
            }
            AtomicFiles.publishDirectory(out, dir -> {
                writer.write(dir.resolve(HfCheckpoint.SAFETENSORS_NAME));
                for (String name : COPIED_FILES) {
                    if (Files.isRegularFile(model.resolve(name))) {
                        Files.copy(model.resolve(name), dir.resolve(name), StandardCopyOption.COPY_ATTRIBUTES);
                    }
                }
            });
        }
        spec.commandLine().getOut().println("merged " + adapter + " into " + model + ": " + out);
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
