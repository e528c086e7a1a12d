package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.LoraSizes;
import ai.lorapro.optim.StateDType;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code lorapro info}: sizes from a config alone ({@code --config}: parameter counts and the
 * LoRA-Pro memory estimate), or a whole checkpoint directory validated against its config ({@code
 * --model}).
 */
@Command(name = "info", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Parameter counts and LoRA-Pro memory from a config, or a checkpoint's summary.")
public final class InfoCommand implements Callable<Integer>, FieldOptions {

    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Source source;

    /** Exactly one of --config and --model. */
    static final class Source {
        @Option(names = "--config", paramLabel = "FILE", description = "A config.json: sizes without weights.")
        Path config;

        @Option(names = "--model", paramLabel = "DIR", description = "A model directory: validate and summarise.")
        Path model;
    }

    @Option(names = "--r", paramLabel = "N", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    private int r = LoraConfig.builder().build().getR();

    @Option(names = {"--targets", "--target-modules"}, split = ",", paramLabel = "NAMES",
            description = "Target modules, or all-linear (default: the model family's, all-linear for language"
                    + " models).")
    private List<String> targets;

    @Override
    public Map<String, String> flags() {
        return Map.of("r", "--r", "target_modules", "--targets");
    }

    @Override
    public Integer call() {
        if (r < 1) {
            throw new InvalidInputException("--r must be >= 1, got " + r);
        }
        PrintWriter out = spec.commandLine().getOut();
        if (source.config != null) {
            report(ModelFamilies.readConfig(source.config), out);
        } else {
            ModelArchitecture config = ModelFiles.config(source.model);
            try (HfCheckpoint checkpoint = HfCheckpoint.open(source.model)) {
                validate(config, checkpoint);
                HfCheckpoint.Summary summary = checkpoint.summary();
                out.printf(Locale.ROOT, "checkpoint: %s%n", source.model);
                out.printf(Locale.ROOT, "tensors: %d in %d file(s), %,d parameters, %,d bytes%n",
                        summary.tensorCount(), summary.shardCount(), summary.parameterCount(), summary.bytes());
                summary.parametersByDtype().forEach((dtype, count) ->
                        out.printf(Locale.ROOT, "  %s: %,d parameters%n", dtype, count));
                out.println("tensors match config.json");
            }
            report(config, out);
        }
        out.flush();
        return ExitCodes.OK;
    }

    private void report(ModelArchitecture config, PrintWriter out) {
        List<String> chosen = targets != null ? targets : config.defaultLoraTargets();
        LoraConfig lora = LoraConfig.builder().setR(r).optTargetModules(chosen).build();
        LoraSizes sizes = config.loraSizes(lora);
        if (sizes.adaptedLayers() == 0) {
            throw new InvalidInputException("--targets " + chosen + " match no linear layer that training adapts");
        }
        // a mistyped name among good ones: said, not refused (the counted model may lack layers a
        // checkpoint adds, such as a stored lm_head or a classification head)
        Set<String> unmatched = LoraInjector.unmatchedNames(lora, LoraSizes.linearShapes(config.adaptedModel()).keySet());
        if (!unmatched.isEmpty()) {
            spec.commandLine().getErr().println("warning: --targets " + String.join(",", unmatched)
                    + " match no linear layer that training adapts and are not counted");
            spec.commandLine().getErr().flush();
        }
        long base = config.baseParameters();
        out.printf(Locale.ROOT, "model: %s, %s, %,d base parameters%n", config.modelType(), config.summary(), base);
        out.printf(Locale.ROOT, "LoRA r=%d on %s: %d layers, %,d trainable parameters (%.3f%% of base)%n",
                r, String.join(",", chosen), sizes.adaptedLayers(), sizes.trainableParameters(),
                100.0 * sizes.trainableParameters() / base);
        out.printf(Locale.ROOT, "LoRA / LoRA-Pro efficient AdamW state: 2 x %,d values = %s fp32%n",
                sizes.trainableParameters(), size(8 * sizes.trainableParameters()));
        out.printf(Locale.ROOT, "LoRA-Pro AdamW (full) state: 2 x %,d values = %s fp32, %s with --state-dtype bf16%n",
                sizes.adaptedWeightValues(), size(sizes.loraProFullStateBytesFloat32()),
                size(sizes.loraProFullStateValues() * StateDType.BF16.bytesPerValue()));
    }

    /** Bytes in decimal units with one decimal, e.g. {@code 51.8 GB}. */
    static String size(long bytes) {
        if (bytes >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.1f GB", bytes / 1e9);
        }
        if (bytes >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
        }
        return String.format(Locale.ROOT, "%.1f KB", bytes / 1e3);
    }

    /** Checks every tensor of the checkpoint against the model, as loading would. */
    private static void validate(ModelArchitecture config, HfCheckpoint checkpoint) {
        CheckpointLoader.check(config.newModel(checkpoint.names()), checkpoint, checkpoint.directory().toString(),
                config.ignorableTensors());
    }
}
