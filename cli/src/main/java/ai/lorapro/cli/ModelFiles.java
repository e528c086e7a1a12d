package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.TokenizerFit;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.RegularFiles;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.tasks.DefaultTasks;

import java.nio.file.Files;
import java.nio.file.Path;

/** Loads what the commands share: the model's config and weights, its tokenizer, data files. */
final class ModelFiles {

    /** The tokenizer file of a Hugging Face model directory. */
    static final String TOKENIZER_FILE = "tokenizer.json";

    private ModelFiles() {}

    /**
     * The model directory's config.json, read by the family its {@code model_type} names, before
     * any weight is read.
     */
    static ModelArchitecture config(Path modelDir) {
        Path file = modelDir.resolve(ModelFamilies.CONFIG_FILE);
        RegularFiles.requireRegularIfPresent(file);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(
                    "--model: " + file + " does not exist" + ModelFamilies.checkpointHint(modelDir));
        }
        return ModelFamilies.readConfig(file);
    }

    /**
     * Whether training the model of {@code modelDir} without a task reads a directory (an
     * image-folder root) rather than a file; false when its config cannot be read.
     */
    static boolean trainsOnDirectories(Path modelDir) {
        try {
            return DefaultTasks.taskName(config(modelDir).kind()).isPresent();
        } catch (InvalidInputException e) {
            return false;
        }
    }

    /** The model's weights, sharded or not, in float32 or float16. */
    static Block load(ModelArchitecture config, Path modelDir, NDManager manager, DataType frozenType) {
        return config.load(modelDir, manager, frozenType);
    }

    /**
     * The tokenizer: {@code override} when given, else the model directory's tokenizer.json.
     *
     * @throws InvalidInputException when there is none or it does not load
     */
    static HfTokenizer tokenizer(Path modelDir, Path override) {
        Path file = override != null ? override : modelDir.resolve(TOKENIZER_FILE);
        RegularFiles.requireRegularIfPresent(file);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException((override != null ? "--tokenizer: " : "--model: ") + file
                    + " does not exist (pass --tokenizer FILE)");
        }
        return HfTokenizer.load(file);
    }

    /**
     * Refuses a tokenizer that can produce ids the model has no embedding row for.
     *
     * @throws InvalidInputException naming both sizes
     */
    static void checkFit(HfTokenizer tokenizer, ModelArchitecture config) {
        TokenizerFit.require(tokenizer, config.vocabSize());
    }

    /**
     * Refuses a generation longer than the model's positions: the prompt's tokens plus {@code
     * maxNewTokens} must fit its {@link ModelArchitecture#maxPositions()} (which also bounds what
     * generation allocates).
     *
     * @throws InvalidInputException naming the option and the numbers
     */
    static void checkGenerationLength(int promptTokens, int maxNewTokens, ModelArchitecture config) {
        if ((long) promptTokens + maxNewTokens > config.maxPositions()) {
            throw new InvalidInputException("--max-new-tokens " + maxNewTokens + " with a prompt of " + promptTokens
                    + " tokens exceeds the model's max_position_embeddings " + config.maxPositions());
        }
    }

    /**
     * Checks, before any weight is loaded, that {@code adapterDir} holds a readable PEFT adapter: a
     * mistyped path or a broken config is refused in a second, not after minutes of loading.
     *
     * @throws InvalidInputException naming the directory or file
     */
    static void requireAdapter(Path adapterDir) {
        if (!Files.isDirectory(adapterDir)) {
            throw new InvalidInputException("--adapter: " + adapterDir + " is not a directory");
        }
        PeftAdapter.requireReadable(adapterDir);
    }

    /**
     * Adds the adapter at {@code adapterDir}, checked by {@link #requireAdapter}, to {@code model}
     * (PEFT format; {@link PeftAdapter#load} refuses a tensor that is not finite).
     */
    static void applyAdapter(Block model, Path adapterDir) {
        PeftAdapter.load(adapterDir, model);
    }
}
