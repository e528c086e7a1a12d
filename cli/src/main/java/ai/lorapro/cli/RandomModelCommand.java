package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.random.ModelPreset;
import ai.lorapro.models.random.RandomModel;

import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code lorapro random-model}: writes a random-weight model of a real configuration (a preset or a
 * {@code config.json}) in Hugging Face's layout, with a byte-level tokenizer, so that {@code train},
 * {@code eval}, {@code generate} and {@code merge} can run on it at once. See {@link RandomModel}.
 */
@Command(name = "random-model", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Write a random-weight model (config.json, safetensors shards, tokenizer.json) of a"
                + " real configuration, one tensor at a time.")
public final class RandomModelCommand implements Callable<Integer>, FieldOptions {


    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Source source;

    /** Where the configuration comes from: a preset or a file. */
    static final class Source {
        @Option(names = "--preset", paramLabel = "NAME", completionCandidates = PresetNames.class,
                description = "One of: ${COMPLETION-CANDIDATES}.")
        String preset;

        @Option(names = "--config", paramLabel = "FILE",
                description = "A Hugging Face config.json (model_type llama, t5 or clip).")
        Path config;
    }

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "The model directory to create (must not exist or be empty).")
    private Path out;

    @Option(names = "--dtype", paramLabel = "TYPE",
            description = "bf16, fp16 or fp32 (default: ${DEFAULT-VALUE}).")
    private String dtype = "bf16";

    @Option(names = "--seed", paramLabel = "N", description = "Random seed (default: ${DEFAULT-VALUE}).")
    private long seed = 42;

    @Option(names = "--shard-size", paramLabel = "SIZE",
            description = "Largest safetensors file, e.g. 2GB (10^9 bytes) or 512MiB (default: ${DEFAULT-VALUE}).")
    private String shardSize = "2GB";

    @Override
    public Map<String, String> flags() {
        return Map.of("preset", "--preset", "out", "--out", "dtype", "--dtype", "max_shard_bytes", "--shard-size");
    }

    @Override
    public Integer call() {
        // a path under a file, in a read-only directory, or empty: exit 2 as every command (RandomModel
        // itself refuses a directory that is not empty)
        new OutputDirectoryGuard("--out", out).requireUsable();
        RandomModel.Options options = new RandomModel.Options(WeightFiles.dtype(dtype), seed, WeightFiles.size(shardSize));
        JsonObject config;
        if (source.preset != null) {
            config = ModelPreset.fromId(source.preset).config();
        } else {
            RandomModel.layout(source.config); // names the user's file if the config is unusable
            config = readObject(source.config);
        }
        long start = System.nanoTime();
        RandomModel.Summary s = RandomModel.write(config, out, options);
        spec.commandLine().getOut().printf(Locale.ROOT,
                "wrote %s: %s, %,d parameters, %s in %d file(s) (%.2f GB)%s, %.1f s%n", s.dir(), s.modelType(),
                s.parameterCount(), dtype, s.weightFiles().size(), s.weightBytes() / 1e9,
                s.hasTokenizer() ? " and tokenizer.json" : "", (System.nanoTime() - start) / 1e9);
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }

    private static JsonObject readObject(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException | JsonParseException | IllegalStateException e) {
            throw new InvalidInputException("--config: " + file + ": " + e.getMessage(), e);
        }
    }

    /** The preset names for help and completion. */
    static final class PresetNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        PresetNames() {
            addAll(ModelPreset.ids());
        }
    }
}
