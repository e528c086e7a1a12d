package ai.lorapro.reliability;

import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.CliRun;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.PeftAdapter;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Property test: adversarial sizes, ids and values fed to the option parser and to the config,
 * adapter-config and tokenizer readers are refused with exit code 2 and one {@code error:} line,
 * each within {@link #BOUND}; inputs that stay valid may succeed (exit 0), but nothing fails with
 * exit 1, hangs or allocates out of proportion. Iterations: {@code -Dlorapro.fuzz.cli.iterations}
 * (default 120), seed: {@code -Dlorapro.fuzz.seed}.
 */
class AdversarialInputFuzzTest extends TinyModelCliTestBase {

    static final Duration BOUND = Duration.ofSeconds(60);

    /** Values no size, count or rank option accepts. */
    static final List<String> BAD_INTS = List.of("0", "-1", "-2147483648", "2147483648", "9223372036854775808",
            "99999999999999999999", "NaN", "", "1.5", "0x10", "1e3", "+-1", " 7");

    /** Values no learning rate accepts (a huge finite one is valid: its steps are skipped as non-finite). */
    static final List<String> BAD_FLOATS = List.of("0", "-1", "-0.0", "NaN", "Infinity", "-Infinity", "", "x",
            "1e39", "0x");

    /** JSON values that fit no size field (for a field of the tiny model, whose sizes are small). */
    static final List<JsonElement> BAD_JSON = List.of(new JsonPrimitive(0), new JsonPrimitive(-1),
            new JsonPrimitive(2_000_000), new JsonPrimitive(Integer.MAX_VALUE), new JsonPrimitive(2147483648L), new JsonPrimitive(9007199254740993L),
            new JsonPrimitive(new BigDecimal("1e30")), new JsonPrimitive(new BigDecimal("-1e30")),
            new JsonPrimitive(1.5), new JsonPrimitive("x"), new JsonArray(), new JsonObject(), JsonNull.INSTANCE,
            new JsonPrimitive(true));

    /** Config fields that the weights' shapes pin down: any other value must be refused. */
    static final List<String> SHAPE_FIELDS = List.of("vocab_size", "hidden_size", "intermediate_size",
            "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim");
    /** Other config fields: a bad value is refused, a merely unusual one may pass. */
    static final List<String> OTHER_FIELDS = List.of("max_position_embeddings", "bos_token_id", "eos_token_id",
            "pad_token_id", "rms_norm_eps", "rope_theta");


    @TempDir
    Path tmp;

    private static int iterations() {
        return Integer.getInteger("lorapro.fuzz.cli.iterations", 120);
    }

    private static Random random() {
        return new Random(Long.getLong("lorapro.fuzz.seed", 17L));
    }

    /**
     * Runs and checks the property; {@code mustRefuse} demands exit 2. The command runs on the
     * test's own thread (PyTorch's grad mode is per thread, as for the command line's main thread),
     * so a hang would stall the build rather than fail here; the time bound is checked afterwards.
     */
    private static CliRun.Result check(String what, boolean mustRefuse, String... args) {
        long t0 = System.nanoTime();
        CliRun.Result r = cli(args);
        assertTrue(System.nanoTime() - t0 < BOUND.toNanos(), what + " took too long");
        if (mustRefuse || r.code() != 0) {
            assertEquals(2, r.code(), what + ": " + r.err());
            assertEquals(1, r.errLines().length, what + " printed " + r.err());
            assertTrue(r.errLines()[0].startsWith("error: "), what + ": " + r.errLines()[0]);
        }
        return r;
    }

    private static <T> T pick(Random random, List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    @Test
    void optionsWithAdversarialNumbersAreRefused() {
        Random random = random();
        String m = model.toString();
        String d = data.toString();
        for (int i = 0; i < iterations(); i++) {
            String value = pick(random, BAD_INTS);
            String out = tmp.resolve("o" + i).toString();
            List<String[]> cases = List.of(
                    new String[] {"train", "--model", m, "--data", d, "--out", out, "--device", "cpu", "--r", value},
                    new String[] {"train", "--model", m, "--data", d, "--out", out, "--device", "cpu",
                        "--global-batch", value},
                    new String[] {"train", "--model", m, "--data", d, "--out", out, "--device", "cpu",
                        "--micro-batch", value},
                    new String[] {"train", "--model", m, "--data", d, "--out", out, "--device", "cpu",
                        "--max-seq-length", value},
                    new String[] {"train", "--model", m, "--data", d, "--out", out, "--device", "cpu", "--lr",
                        pick(random, BAD_FLOATS)},
                    new String[] {"generate", "--model", m, "--prompt", "one", "--device", "cpu",
                        "--max-new-tokens", value},
                    new String[] {"eval", "--model", m, "--data", d, "--device", "cpu", "--batch", value},
                    new String[] {"eval", "--task", "gsm8k", "--model", m, "--data", d, "--out", out,
                        "--max-new-tokens", value},
                    new String[] {"info", "--model", m, "--r", value});
            String[] args = pick(random, cases);
            check(String.join(" ", args), true, args);
        }
        // sizes that parse but cannot be honoured
        check("--r 2^31-1", true, "train", "--model", m, "--data", d, "--out", tmp.resolve("big-r").toString(),
                "--device", "cpu", "--max-steps", "1", "--r", "2147483647");
        check("--max-new-tokens 2^31-1", true, "generate", "--model", m, "--prompt", "one", "--device", "cpu",
                "--max-new-tokens", "2147483647");
        // a task's generation too: it overflowed to a negative array size (exit 1), or ran out of heap
        Path gsm8k = tmp.resolve("gsm8k.jsonl");
        try {
            Files.writeString(gsm8k, "{\"question\": \"one and one\", \"answer\": \"#### 2\"}\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        for (String tokens : new String[] {"2147483647", "400000000", "65"}) {
            CliRun.Result r = check("eval --task gsm8k --max-new-tokens " + tokens, true, "eval", "--task", "gsm8k",
                    "--model", m, "--data", gsm8k.toString(), "--out", tmp.resolve("g" + tokens).toString(),
                    "--device", "cpu", "--max-new-tokens", tokens);
            assertTrue(r.err().contains(tokens + " exceeds the model's max_position_embeddings 64"), r.err());
        }
    }

    @Test
    void configsWithAdversarialSizesAndIdsAreRefused() throws IOException {
        Random random = random();
        JsonObject original = JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject();
        for (int i = 0; i < iterations(); i++) {
            boolean shape = random.nextBoolean();
            String field = pick(random, shape ? SHAPE_FIELDS : OTHER_FIELDS);
            JsonElement value = pick(random, BAD_JSON);
            if (value.equals(original.get(field)) || value.isJsonNull() && !original.has(field)) {
                continue;
            }
            Path dir = tmp.resolve("m" + i);
            Files.createDirectories(dir);
            Files.copy(model.resolve("model.safetensors"), dir.resolve("model.safetensors"));
            JsonObject config = original.deepCopy();
            config.add(field, value);
            Files.writeString(dir.resolve("config.json"), config.toString());
            boolean headDimOfTheModel = field.equals("head_dim") && value.isJsonPrimitive()
                    && value.getAsJsonPrimitive().isNumber() && value.getAsDouble() == 8;
            check("config " + field + "=" + value, shape && !headDimOfTheModel, "info", "--model", dir.toString());
            AtomicFiles.deleteRecursively(dir);
        }
    }

    @Test
    void adapterConfigsWithAdversarialValuesAreRefused() throws IOException {
        Random random = random();
        JsonObject original = JsonParser.parseString(Files.readString(adapter.resolve(PeftAdapter.CONFIG_NAME)))
                .getAsJsonObject();
        List<JsonElement> patterns = List.of(new JsonPrimitive("(.*){1,32}z"), new JsonPrimitive("((.*)*)*z"),
                new JsonPrimitive("(.+)+z"), new JsonPrimitive("["), new JsonPrimitive(""), new JsonArray());
        int n = Math.max(10, iterations() / 4);
        for (int i = 0; i < n; i++) {
            String field = pick(random, List.of("r", "target_modules", "lora_alpha"));
            JsonElement value = field.equals("target_modules") ? pick(random, patterns) : pick(random, BAD_JSON);
            if (value.equals(original.get(field))) {
                continue;
            }
            Path dir = TinyHfModel.copy(adapter, tmp.resolve("a" + i));
            JsonObject config = original.deepCopy();
            config.add(field, value);
            Files.writeString(dir.resolve(PeftAdapter.CONFIG_NAME), config.toString());
            // any finite alpha is a valid scale (this adapter's B is zero, so the merge stays finite)
            boolean mayPass = field.equals("lora_alpha") && value.isJsonPrimitive()
                    && value.getAsJsonPrimitive().isNumber() && Float.isFinite(value.getAsFloat());
            check("adapter " + field + "=" + value, !mayPass, "merge", "--model", model.toString(), "--adapter",
                    dir.toString(), "--out", tmp.resolve("merged" + i).toString());
        }
    }

    @Test
    void tokenizersWithAdversarialIdsAreRefused() throws IOException {
        Random random = random();
        JsonObject original = JsonParser.parseString(Files.readString(model.resolve("tokenizer.json"))).getAsJsonObject();
        List<Long> ids = List.of(-1L, (long) TinyHfModel.VOCAB, 100_000L, (long) Integer.MAX_VALUE, 4_294_967_296L);
        int n = Math.max(10, iterations() / 4);
        for (int i = 0; i < n; i++) {
            JsonObject tok = original.deepCopy();
            long id = pick(random, ids);
            String where;
            if (random.nextBoolean()) {
                JsonObject added = tok.getAsJsonArray("added_tokens").get(random.nextInt(3)).getAsJsonObject();
                added.addProperty("id", id);
                where = "added_tokens " + added.get("content").getAsString();
            } else {
                JsonObject vocab = tok.getAsJsonObject("model").getAsJsonObject("vocab");
                String key = new ArrayList<>(vocab.keySet()).get(random.nextInt(vocab.size()));
                vocab.addProperty(key, id);
                where = "vocab " + key;
            }
            Path file = Files.writeString(tmp.resolve("tokenizer" + i + ".json"), tok.toString());
            check("tokenizer " + where + "=" + id, true, "generate", "--model", model.toString(), "--tokenizer",
                    file.toString(), "--prompt", "one", "--max-new-tokens", "1", "--device", "cpu");
        }
    }
}
