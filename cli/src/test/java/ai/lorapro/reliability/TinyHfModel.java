package ai.lorapro.reliability;

import ai.djl.ndarray.NDManager;
import ai.lorapro.cli.CliRun;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;


import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.BiPredicate;

/**
 * A tiny random Llama saved as a Hugging Face directory (config.json, model.safetensors and the
 * llama-like fixture tokenizer), JSON-lines data for it, the command line run in-process, and
 * byte-level edits of safetensors headers.
 */
final class TinyHfModel {

    /** Model rows for the 400-id fixture tokenizer. */
    static final int VOCAB = 416;
    static final int HIDDEN = 16;

    private TinyHfModel() {}

    /** Runs {@code lorapro args} in this JVM. */
    static CliRun.Result cli(String... args) {
        return CliRun.cli(args);
    }

    /** The config of the tiny model: hidden 16, one layer, 2 heads, 1 key-value head. */
    static LlamaConfig config(int hidden, int vocab) {
        return LlamaConfig.of(Map.of("vocab_size", vocab, "hidden_size", hidden, "intermediate_size", 2 * hidden,
                "num_hidden_layers", 1, "num_attention_heads", 2, "num_key_value_heads", 1,
                "max_position_embeddings", 64, "initializer_range", 0.05));
    }

    /** The config.json text of {@link #config}. */
    static String configJson(int hidden, int vocab) {
        return String.format(Locale.ROOT, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
                + " \"vocab_size\": %d, \"hidden_size\": %d, \"intermediate_size\": %d, \"num_hidden_layers\": 1,"
                + " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"max_position_embeddings\": 64,"
                + " \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0, \"initializer_range\": 0.05,"
                + " \"bos_token_id\": 1, \"eos_token_id\": 2, \"tie_word_embeddings\": false}", vocab, hidden, 2 * hidden);
    }

    /** Saves the tiny model with hidden size 16 into {@code dir}. */
    static Path save(Path dir) throws IOException {
        return save(dir, HIDDEN, (name, i) -> true);
    }

    /**
     * Saves a tiny model with the given hidden size; only the tensors {@code keep} accepts (name,
     * index) go into model.safetensors.
     */
    static Path save(Path dir, int hidden, BiPredicate<String, Integer> keep) throws IOException {
        Files.createDirectories(dir);
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = LlamaForCausalLM.random(config(hidden, VOCAB), manager, 5);
            SafetensorsWriter writer = new SafetensorsWriter();
            int[] index = {0};
            ModuleTree.namedParameters(model).forEach((name, p) -> {
                if (keep.test(name, index[0]++)) {
                    writer.add(name, p.getArray());
                }
            });
            writer.write(dir.resolve("model.safetensors"));
        }
        Files.writeString(dir.resolve("config.json"), configJson(hidden, VOCAB), StandardCharsets.UTF_8);
        Files.copy(Fixtures.hfTiny().resolve("tokenizers/llama-like.json"), dir.resolve("tokenizer.json"));
        return dir;
    }

    /** Saves a PEFT adapter (r 4 on q_proj and v_proj) for the tiny model of hidden size 16 into {@code dir}. */
    static Path adapter(Path dir, Path baseModel) {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM m = LlamaForCausalLM.random(config(HIDDEN, VOCAB), manager, 5);
            LoraInjector.inject(m, LoraConfig.builder().setR(4).setAlpha(8).optTargetModules("q_proj", "v_proj").build());
            PeftAdapter.save(m, dir, baseModel.toString(), "CAUSAL_LM");
        }
        return dir;
    }

    /** Copies a model directory (flat). */
    static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    /**
     * A Hugging Face hub cache layout of {@code model}'s files under {@code cache}: each file a blob
     * in {@code models--tiny/blobs/} (copied, or moved with {@code move}), linked from the snapshot
     * {@code models--tiny/snapshots/0123abc/}, which is returned.
     */
    static Path hubSnapshot(Path model, Path cache, boolean move) throws IOException {
        Path repo = cache.resolve("models--tiny");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/0123abc"));
        try (var files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path target = blobs.resolve("blob-" + f.getFileName());
                Path blob = move ? Files.move(f, target) : Files.copy(f, target);
                Files.createSymbolicLink(snapshot.resolve(f.getFileName()), snapshot.relativize(blob));
            }
        }
        return snapshot;
    }

    /** {@code count} lines of "after one comes" -> " two" records. */
    static String jsonl(int count, long seed) {
        Random random = new Random(seed);
        String[] words = {"one", "two", "three", "four", "five", "six", "seven", "eight"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(words.length - 1);
            sb.append("{\"prompt\": \"after ").append(words[a]).append(" comes\", \"response\": \" ")
                    .append(words[a + 1]).append("\"}\n");
        }
        return sb.toString();
    }

    /** The header length field of safetensors bytes. */
    static long headerLength(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** The parsed JSON header of safetensors bytes. */
    static JsonObject header(byte[] bytes) {
        int n = (int) headerLength(bytes);
        return JsonParser.parseString(new String(bytes, 8, n, StandardCharsets.UTF_8)).getAsJsonObject();
    }

    /** The same data behind a new header text, with a correct length field. */
    static byte[] withHeader(byte[] bytes, String header) {
        int n = (int) headerLength(bytes);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[8 + h.length + bytes.length - 8 - n];
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(bytes, 8 + n, out, 8 + h.length, bytes.length - 8 - n);
        return out;
    }

    /** The bytes with the header length field set to {@code n}. */
    static byte[] withHeaderLength(byte[] bytes, long n) {
        byte[] out = bytes.clone();
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
        return out;
    }
}
