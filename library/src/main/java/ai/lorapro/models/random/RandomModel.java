package ai.lorapro.models.random;

import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.Directories;
import ai.lorapro.io.ShardedSafetensorsWriter;
import ai.lorapro.io.StreamedTensor;
import ai.lorapro.io.TensorDType;
import ai.lorapro.models.common.ConfigJson;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a random-weight model in Hugging Face's layout: {@code config.json}, the weights as
 * safetensors (one file, or shards plus {@code model.safetensors.index.json}) and, for models that
 * read text, a byte-level {@code tokenizer.json} whose special tokens sit at the config's ids. The
 * weights are generated one tensor at a time in bounded chunks straight into the files, so memory
 * stays small at any model size; the same config, dtype and seed give the same bytes. The directory
 * appears atomically, complete or not at all.
 *
 * <p>Families: {@code model_type} llama, t5 and clip; each is initialised as its Hugging Face
 * {@code _init_weights} does (see {@link LlamaRandomLayout}, {@link T5RandomLayout}, {@link
 * ClipRandomLayout}).
 */
public final class RandomModel {

    /** The tokenizer file name. */
    public static final String TOKENIZER_FILE = "tokenizer.json";

    private RandomModel() {}

    /**
     * How to write the weights.
     *
     * @param dtype F32, F16 or BF16
     * @param seed the random seed
     * @param maxShardBytes the most tensor bytes per safetensors file
     */
    public record Options(TensorDType dtype, long seed, long maxShardBytes) {
        /** Checks the dtype and shard size. */
        public Options {
            if (dtype != TensorDType.F32 && dtype != TensorDType.F16 && dtype != TensorDType.BF16) {
                throw new InvalidFieldException("dtype", "must be bf16, fp16 or fp32 for random weights, not " + dtype);
            }
            if (maxShardBytes <= 0) {
                throw new InvalidFieldException("max_shard_bytes", "must be positive, got " + maxShardBytes + " bytes");
            }
        }
    }

    /**
     * What was written.
     *
     * @param dir the model directory
     * @param modelType the config's model_type
     * @param parameterCount the number of parameters
     * @param weightFiles the safetensors files
     * @param weightBytes the tensor bytes in them
     * @param hasTokenizer whether a tokenizer.json was written
     */
    public record Summary(Path dir, String modelType, long parameterCount, List<String> weightFiles,
            long weightBytes, boolean hasTokenizer) {}

    /**
     * Writes the model of {@code config} into {@code out}, which must not exist or be empty.
     *
     * @param config a Hugging Face config.json object with its model_type; its {@code torch_dtype}
     *     (or {@code dtype}) is set to the dtype written
     * @throws InvalidInputException if {@code out} is a file or a non-empty directory, the config is
     *     not one the project's model classes accept, or the tokenizer does not fit its vocabulary
     */
    public static Summary write(JsonObject config, Path out, Options options) {
        requireEmpty(out);
        JsonObject written = config.deepCopy();
        ConfigJson.nameDtype(written, options.dtype());
        String text = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(written) + "\n";
        Summary[] summary = new Summary[1];
        AtomicFiles.publishDirectory(out, dir -> {
            Path configFile = dir.resolve("config.json");
            Files.writeString(configFile, text, StandardCharsets.UTF_8);
            String modelType = ConfigJson.read(configFile).optString("model_type", "");
            RandomModelLayout layout = layout(modelType, configFile, out + ": config.json");
            List<StreamedTensor> tensors = new ArrayList<>();
            for (Map.Entry<String, Shape> e : layout.shapes().entrySet()) {
                tensors.add(tensor(e.getKey(), e.getValue(), layout.init(), options));
            }
            boolean tokenizer = layout.tokenizer() != null;
            if (tokenizer) {
                Files.writeString(dir.resolve(TOKENIZER_FILE), layout.tokenizer().toJson(), StandardCharsets.UTF_8);
            }
            List<String> files = ShardedSafetensorsWriter.write(dir, tensors, options.maxShardBytes(),
                    Map.of("generated_by", "lorapro random-model, seed " + options.seed()));
            long bytes = tensors.stream().mapToLong(StreamedTensor::byteLength).sum();
            summary[0] = new Summary(out, modelType, layout.parameterCount(), files, bytes, tokenizer);
        });
        return summary[0];
    }

    /**
     * The layout of the model a config file describes.
     *
     * @throws InvalidInputException for an unsupported model_type or config, or a vocabulary too
     *     small for the byte-level tokenizer
     */
    public static RandomModelLayout layout(Path configFile) {
        return layout(ConfigJson.read(configFile).optString("model_type", ""), configFile, configFile.toString());
    }

    /** @param shownAs how error messages name the config */
    private static RandomModelLayout layout(String modelType, Path configFile, String shownAs) {
        RandomModelLayout layout;
        switch (modelType) {
            case "llama":
                layout = LlamaRandomLayout.of(configFile);
                break;
            case "t5":
                layout = T5RandomLayout.of(configFile);
                break;
            case "clip":
                layout = ClipRandomLayout.of(configFile);
                break;
            default:
                throw new InvalidInputException(shownAs + ": model_type '" + modelType
                        + "' is not supported (llama, t5 or clip)");
        }
        if (layout.tokenizer() != null) {
            long vocab = layout.shapes().entrySet().stream()
                    .filter(e -> e.getKey().endsWith("embed_tokens.weight") || e.getKey().equals("shared.weight")
                            || e.getKey().endsWith("token_embedding.weight"))
                    .mapToLong(e -> e.getValue().get(0)).min().orElse(Long.MAX_VALUE);
            if (layout.tokenizer().vocabSize() > vocab) {
                throw new InvalidInputException(shownAs + ": vocab_size " + vocab
                        + " is too small for a byte-level tokenizer (needs " + layout.tokenizer().vocabSize() + ")");
            }
        }
        return layout;
    }

    private static StreamedTensor tensor(String name, Shape shape, InitRule init, Options options) {
        long[] dims = shape.getShape();
        long count = shape.size();
        return new StreamedTensor(name, options.dtype(), dims, RandomTensorBytes.producer(init.of(name, shape),
                options.dtype(), count, RandomTensorBytes.tensorSeed(options.seed(), name)));
    }

    private static void requireEmpty(Path out) {
        if (Directories.isEmptyOrAbsent(out)) {
            return;
        }
        if (!Files.isDirectory(out)) {
            throw new InvalidFieldException("out", out + " is not a directory");
        }
        throw new InvalidFieldException("out", out + " is not empty; choose a new directory");
    }
}
