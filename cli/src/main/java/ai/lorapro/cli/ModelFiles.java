package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.TokenizerFit;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.JsonlDataset;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.RegularFiles;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.train.Finiteness;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Loads what the commands share: the model's config and weights, its tokenizer, data files. */
final class ModelFiles {

    /** The tokenizer file of a Hugging Face model directory. */
    static final String TOKENIZER_FILE = "tokenizer.json";

    private ModelFiles() {}

    /** The model directory's config.json, checked before any weight is read. */
    static LlamaConfig config(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        RegularFiles.requireRegularIfPresent(file);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException("--model: " + file + " does not exist");
        }
        return LlamaConfig.fromJson(file);
    }

    /** The model's weights, sharded or not, in float32 or float16. */
    static LlamaForCausalLM load(Path modelDir, NDManager manager, DataType frozenType) {
        return LlamaForCausalLM.fromPretrained(modelDir, manager, frozenType);
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
    static void checkFit(HfTokenizer tokenizer, LlamaConfig config) {
        TokenizerFit.require(tokenizer, config.getVocabSize());
    }

    /**
     * Refuses a generation longer than the model's positions: the prompt's tokens plus {@code
     * maxNewTokens} must fit {@code max_position_embeddings} (which also bounds what generation
     * allocates).
     *
     * @throws InvalidInputException naming the option and the numbers
     */
    static void checkGenerationLength(int promptTokens, int maxNewTokens, LlamaConfig config) {
        if ((long) promptTokens + maxNewTokens > config.getMaxPositionEmbeddings()) {
            throw new InvalidInputException("--max-new-tokens " + maxNewTokens + " with a prompt of " + promptTokens
                    + " tokens exceeds the model's max_position_embeddings " + config.getMaxPositionEmbeddings());
        }
    }

    /** The text encoder: the tokenizer's ids, BOS/EOS/PAD from the tokenizer or else the config. */
    static TextEncoder encoder(HfTokenizer tokenizer, LlamaConfig config) {
        long bos = tokenizer.bosId().orElse(config.getBosTokenId() != null ? config.getBosTokenId() : TextEncoder.NONE);
        long eos = tokenizer.eosId().orElse(
                config.getEosTokenIds().isEmpty() ? TextEncoder.NONE : config.getEosTokenIds().get(0));
        long pad = tokenizer.padId().orElse(config.getPadTokenId() != null ? config.getPadTokenId() : TextEncoder.NONE);
        return TextEncoder.withSpecialTokens(text -> tokenizer.encode(text, false), bos, eos, pad);
    }

    /** The end-of-sequence ids generation stops at. */
    static Set<Long> eosIds(HfTokenizer tokenizer, LlamaConfig config) {
        Set<Long> ids = new HashSet<>();
        config.getEosTokenIds().forEach(id -> ids.add(id.longValue()));
        tokenizer.eosId().ifPresent(ids::add);
        return ids;
    }

    /** The examples of a JSON-lines file. */
    static List<Example> examples(Path file, TextEncoder encoder, int maxLength, boolean skipBadLines) {
        return JsonlDataset.builder()
                .setFile(file)
                .setEncoder(encoder)
                .optMaxLength(maxLength)
                .optSkipBadLines(skipBadLines)
                .build()
                .examples();
    }

    /** Adds the adapter at {@code adapterDir} to {@code model} (PEFT format). */
    static void applyAdapter(LlamaForCausalLM model, Path adapterDir) {
        if (!Files.isDirectory(adapterDir)) {
            throw new InvalidInputException("--adapter: " + adapterDir + " is not a directory");
        }
        LoraInjector.inject(model, PeftAdapter.readConfig(adapterDir));
        PeftAdapter.load(adapterDir, model);
        ModuleTree.namedParameters(model).forEach((name, p) -> {
            if (name.contains(".lora_") && !Finiteness.isAllFinite(p.getArray())) {
                throw new InvalidInputException("--adapter: " + adapterDir.resolve(PeftAdapter.WEIGHTS_NAME)
                        + ": tensor of '" + name + "' holds NaN or infinity");
            }
        });
    }
}
