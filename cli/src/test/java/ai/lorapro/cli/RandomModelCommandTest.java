package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.train.TinyModels;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code lorapro random-model} on small custom configs: a sharded, deterministic, HF-initialised model
 * that loads through {@link HfCheckpoint} and trains at once; T5 and CLIP load through their model
 * classes; bad input exits 2 and leaves nothing behind.
 */
class RandomModelCommandTest {

    /** A small Llama: 2 layers, hidden 64, vocab 320 (the byte tokenizer needs 259 ids). */
    static final String LLAMA = "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
            + " \"vocab_size\": 320, \"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 2,"
            + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 128,"
            + " \"rms_norm_eps\": 1e-06, \"initializer_range\": 0.05, \"bos_token_id\": 1, \"eos_token_id\": 2,"
            + " \"tie_word_embeddings\": false}";

    private static int threads;

    @TempDir
    Path tmp;

    @BeforeAll
    static void oneThread() {
        threads = TinyModels.singleThread();
    }

    @AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    private Path config(String name, String json) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, json, StandardCharsets.UTF_8);
        return file;
    }

    private static CliRun.Result write(Path config, Path out, String... extra) {
        List<String> args = Stream.concat(Stream.of("random-model", "--config", config.toString(), "--out",
                out.toString()), Stream.of(extra)).collect(Collectors.toList());
        return CliRun.cli(args.toArray(new String[0]));
    }

    @Test
    void writesAShardedLlamaThatLoadsAndTrains() throws IOException {
        Path out = tmp.resolve("llama");
        CliRun.Result r = write(config("llama.json", LLAMA), out, "--shard-size", "64KB", "--dtype", "fp32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("wrote"), r.out());
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors.index.json")));
        try (Stream<Path> files = Files.list(out)) {
            assertTrue(files.filter(p -> p.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors"))
                    .count() > 2, "several shards");
        }
        JsonObject written = JsonParser.parseString(Files.readString(out.resolve("config.json"))).getAsJsonObject();
        assertEquals("float32", written.get("torch_dtype").getAsString());

        try (NDManager manager = NDManager.newBaseManager();
                HfCheckpoint checkpoint = HfCheckpoint.open(out)) {
            assertTrue(checkpoint.names().contains("lm_head.weight"));
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(out, manager, DataType.FLOAT32);
            NDArray q = ModuleTree.namedParameters(model).get("model.layers.0.self_attn.q_proj.weight").getArray();
            float std = q.sub(q.mean()).square().mean().sqrt().getFloat();
            assertEquals(0.05, std, 0.005, "N(0, initializer_range^2)");
            NDArray norm = ModuleTree.namedParameters(model).get("model.norm.weight").getArray();
            assertTrue(norm.eq(1f).all().getBoolean(), "norm scales are 1");
        }
        try (HfTokenizer tok = HfTokenizer.load(out.resolve("tokenizer.json"))) {
            assertEquals(1, tok.bosId().getAsLong());
            assertEquals(2, tok.eosId().getAsLong());
        }

        Path data = tmp.resolve("train.jsonl");
        Files.writeString(data, "{\"prompt\": \"1+1=\", \"response\": \"2\"}\n{\"text\": \"hello world\"}\n",
                StandardCharsets.UTF_8);
        CliRun.Result trained = CliRun.cli("train", "--model", out.toString(), "--data", data.toString(),
                "--out", tmp.resolve("run").toString(), "--method", "lora-pro", "--max-steps", "1",
                "--global-batch", "2", "--micro-batch", "2", "--device", "cpu", "--max-seq-length", "32");
        assertEquals(0, trained.code(), trained.err());
        assertTrue(trained.out().contains("trained lora-pro for 1 step on"), trained.out());
        double loss = Double.parseDouble(trained.out().replaceAll("(?s).*final loss ([0-9.]+).*", "$1"));
        assertEquals(Math.log(320), loss, 0.5, "a random model starts near the uniform loss");
    }

    @Test
    void theSameSeedGivesTheSameBytesAndAnotherSeedOthers() throws IOException {
        Path config = config("llama.json", LLAMA);
        assertEquals(0, write(config, tmp.resolve("a"), "--seed", "7").code());
        assertEquals(0, write(config, tmp.resolve("b"), "--seed", "7").code());
        assertEquals(0, write(config, tmp.resolve("c"), "--seed", "8").code());
        byte[] a = Files.readAllBytes(tmp.resolve("a/model.safetensors"));
        assertArrayEquals(a, Files.readAllBytes(tmp.resolve("b/model.safetensors")));
        assertFalse(java.util.Arrays.equals(a, Files.readAllBytes(tmp.resolve("c/model.safetensors"))));
        assertEquals(Files.readString(tmp.resolve("a/tokenizer.json")), Files.readString(tmp.resolve("b/tokenizer.json")));
    }

    @Test
    void writesT5AndClipThatTheirModelClassesLoad() throws IOException {
        String t5 = "{\"model_type\": \"t5\", \"vocab_size\": 300, \"d_model\": 32, \"d_kv\": 8, \"d_ff\": 64,"
                + " \"num_layers\": 2, \"num_heads\": 4, \"pad_token_id\": 0, \"eos_token_id\": 1,"
                + " \"decoder_start_token_id\": 0, \"feed_forward_proj\": \"gated-gelu\", \"tie_word_embeddings\": false}";
        Path t5Out = tmp.resolve("t5");
        assertEquals(0, write(config("t5.json", t5), t5Out, "--dtype", "fp16").code());
        String clip = "{\"model_type\": \"clip\", \"projection_dim\": 16,"
                + " \"text_config\": {\"vocab_size\": 300, \"hidden_size\": 32, \"intermediate_size\": 64,"
                + " \"num_hidden_layers\": 1, \"num_attention_heads\": 2, \"max_position_embeddings\": 16,"
                + " \"bos_token_id\": 0, \"eos_token_id\": 2},"
                + " \"vision_config\": {\"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 1,"
                + " \"num_attention_heads\": 2, \"image_size\": 32, \"patch_size\": 16}}";
        Path clipOut = tmp.resolve("clip");
        assertEquals(0, write(config("clip.json", clip), clipOut).code());
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration t = T5ForConditionalGeneration.fromPretrained(t5Out, manager);
            float q = std(ModuleTree.namedParameters(t).get("encoder.block.0.layer.0.SelfAttention.q.weight").getArray());
            assertEquals(1 / Math.sqrt(32 * 8), q, 0.3 / Math.sqrt(32 * 8), "q: factor / sqrt(d_model d_kv)");
            ClipModel c = ClipModel.fromPretrained(clipOut, manager);
            assertEquals(2.6592f, c.getLogitScale().getArray().getFloat(), 2.6592f / 128, "bf16 keeps 8 significant bits");
        }
        try (HfTokenizer tok = HfTokenizer.load(t5Out.resolve("tokenizer.json"))) {
            assertEquals(1, tok.eosId().getAsLong());
            assertEquals(0, tok.padId().getAsLong());
        }
        try (HfTokenizer tok = HfTokenizer.load(clipOut.resolve("tokenizer.json"))) {
            assertEquals(298, tok.bosId().getAsLong());
            assertEquals(299, tok.eosId().getAsLong(), "legacy configs pool at the largest id");
        }
    }

    private static float std(NDArray a) {
        return a.toType(DataType.FLOAT32, false).square().mean().sqrt().getFloat();
    }

    @Test
    void refusesBadInputWithExitTwoAndLeavesNothingBehind() throws IOException {
        Path config = config("llama.json", LLAMA);
        Path full = Files.createDirectories(tmp.resolve("full"));
        Files.writeString(full.resolve("keep.txt"), "mine");
        CliRun.Result r = write(config, full);
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: --out ") && r.err().contains("not empty"), r.err());
        assertEquals(List.of(full.resolve("keep.txt")), Files.list(full).collect(Collectors.toList()));

        Path file = Files.writeString(tmp.resolve("file"), "mine");
        CliRun.Result underFile = write(config, file.resolve("sub"));
        assertEquals(2, underFile.code(), underFile.err());
        assertTrue(underFile.err().startsWith("error: --out: ") && underFile.err().contains("not a directory"),
                underFile.err());
        CliRun.Result empty = CliRun.cli("random-model", "--config", config.toString(), "--out", "");
        assertEquals(2, empty.code(), empty.err());
        assertTrue(empty.err().startsWith("error: --out: the path is empty"), empty.err());
        assertEquals("mine", Files.readString(file));

        assertEquals(2, write(config, tmp.resolve("x"), "--dtype", "int8").code());
        assertEquals(2, write(config, tmp.resolve("x"), "--shard-size", "lots").code());
        CliRun.Result preset = CliRun.cli("random-model", "--preset", "gpt-5", "--out", tmp.resolve("x").toString());
        assertEquals(2, preset.code());
        assertTrue(preset.err().startsWith("error: --preset 'gpt-5' is not a preset (one of "), preset.err());
        assertEquals(2, CliRun.cli("random-model", "--out", tmp.resolve("x").toString()).code());
        Path smallConfig = config("small.json", LLAMA.replace("320", "100"));
        CliRun.Result small = write(smallConfig, tmp.resolve("x"));
        assertEquals(2, small.code());
        assertTrue(small.err().startsWith("error: " + smallConfig + ": vocab_size 100 is too small"), small.err());
        Path gptConfig = config("gpt.json", "{\"model_type\": \"gpt2\"}");
        CliRun.Result gpt = write(gptConfig, tmp.resolve("x"));
        assertEquals(2, gpt.code());
        assertTrue(gpt.err().startsWith("error: " + gptConfig + ": model_type 'gpt2' is not supported"), gpt.err());
        assertFalse(Files.exists(tmp.resolve("x")));
        try (Stream<Path> left = Files.list(tmp)) {
            assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".tmp-")), "no temporary directory");
        }
    }

    @Test
    void parsesShardSizesInDecimalAndBinaryUnits() {
        assertEquals(2_000_000_000L, WeightFiles.size("2GB"));
        assertEquals(512L << 20, WeightFiles.size("512MiB"));
        assertEquals(1_500_000_000L, WeightFiles.size("1.5gb"));
        assertEquals(4096L, WeightFiles.size("4096"));
        assertNotEquals(0, WeightFiles.size("1KiB"));
    }
}
