package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.io.TensorDType;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.train.Method;
import ai.lorapro.train.MetricsLog;
import ai.lorapro.train.TinyModels;
import ai.lorapro.train.TrainingEngine;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;


import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The command line end to end on a tiny random Llama saved as a Hugging Face directory with the
 * llama-like fixture tokenizer: train, resume, eval, generate, merge and info.
 */
class CliEndToEndTest {

    /** Model rows for the 400-id fixture tokenizer (a little spare, as real models have). */
    private static final int VOCAB = 416;

    @TempDir
    static Path shared;

    private static Path modelDir;
    private static Path trainData;
    private static Path evalData;

    @TempDir
    Path tmp;


    private static int threads;

    @org.junit.jupiter.api.AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    @BeforeAll
    static void writeModelAndData() throws IOException {
        threads = TinyModels.singleThread();
        modelDir = saveModel(shared.resolve("tiny-llama"), VOCAB);
        trainData = shared.resolve("train.jsonl");
        evalData = shared.resolve("eval.jsonl");
        Files.writeString(trainData, jsonl(16, 1), StandardCharsets.UTF_8);
        Files.writeString(evalData, jsonl(8, 2), StandardCharsets.UTF_8);
    }

    static Path saveModel(Path dir, int vocab) throws IOException {
        Files.createDirectories(dir);
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = TinyModels.model(manager, vocab, 5);
            SafetensorsWriter writer = new SafetensorsWriter();
            ModuleTree.namedParameters(model).forEach((name, p) -> writer.add(name, p.getArray()));
            writer.write(dir.resolve("model.safetensors"));
        }
        String config = String.format(Locale.ROOT, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\","
                + " \"vocab_size\": %d, \"hidden_size\": 32, \"intermediate_size\": 64, \"num_hidden_layers\": 2,"
                + " \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"max_position_embeddings\": 64,"
                + " \"rms_norm_eps\": 1e-06, \"rope_theta\": 10000.0, \"initializer_range\": 0.05,"
                + " \"bos_token_id\": 1, \"eos_token_id\": 2, \"tie_word_embeddings\": false}", vocab);
        Files.writeString(dir.resolve("config.json"), config, StandardCharsets.UTF_8);
        Files.copy(Fixtures.hfTiny().resolve("tokenizers/llama-like.json"), dir.resolve("tokenizer.json"));
        return dir;
    }

    private static String jsonl(int count, long seed) {
        java.util.Random random = new java.util.Random(seed);
        String[] words = {"one", "two", "three", "four", "five", "six", "seven", "eight"};
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(words.length - 1);
            sb.append("{\"prompt\": \"after ").append(words[a]).append(" comes\", \"response\": \" ")
                    .append(words[a + 1]).append("\"}\n");
        }
        return sb.toString();
    }

    private static String[] trainArgs(Method method, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", modelDir.toString(),
                "--data", trainData.toString(), "--eval-data", evalData.toString(), "--out", out.toString(),
                "--method", method.id(), "--r", "4", "--alpha", "8",
                "--lr", method == Method.LORA_PRO_SGD ? "0.1" : "0.01", "--max-steps", "4",
                "--global-batch", "16", "--micro-batch", "16", "--warmup-ratio", "0",
                "--checkpoint-interval", "2", "--device", "cpu", "--max-seq-length", "64"));
        args.addAll(List.of(extra));
        return args.toArray(new String[0]);
    }

    private static double evalLoss(String out) {
        for (String line : out.split("\n")) {
            if (line.startsWith("eval_loss ")) {
                return Double.parseDouble(line.substring("eval_loss ".length()).trim());
            }
        }
        throw new AssertionError("no eval_loss in: " + out);
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void trainsResumesAndEvaluatesEveryMethod(Method method) throws IOException {
        Path out = tmp.resolve("run");
        CliRun.Result trained = CliRun.cli(trainArgs(method, out));
        assertEquals(0, trained.code(), trained.err());
        assertTrue(trained.out().contains("trained " + method.id() + " for 4 steps"), trained.out());
        MetricsLog.Series losses = MetricsLog.read(out.resolve(TrainingEngine.METRICS_FILE), "loss");
        double[] loss = losses.values();
        // every step sees the whole training set, so the losses are comparable
        assertTrue(loss[loss.length - 1] < loss[0], method + " loss did not decrease: " + java.util.Arrays.toString(loss));
        assertTrue(Files.isRegularFile(out.resolve(ai.lorapro.plot.LossCurvePlot.TRAINING_PLOT_FILE)));
        Path step2 = TrainingEngine.checkpointDir(out, 2);
        Path step4 = TrainingEngine.checkpointDir(out, 4);
        assertTrue(Files.isDirectory(step2) && Files.isDirectory(step4));

        Path resumedOut = tmp.resolve("resumed");
        CliRun.Result resumed = CliRun.cli(trainArgs(method, resumedOut, "--resume", step2.toString()));
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.out().contains("trained " + method.id() + " for 2 steps (3-4, resumed)"), resumed.out());
        assertEquals(method.usesAdapters(), resumed.out().contains("adapter (PEFT, for --adapter): "
                + TrainingEngine.checkpointDir(resumedOut, 4).resolve("adapter")), resumed.out());
        String weights = method.usesAdapters() ? "adapter/adapter_model.safetensors" : "model.safetensors";
        assertSameTensors(step4.resolve(weights), TrainingEngine.checkpointDir(resumedOut, 4).resolve(weights));
        assertSameTensors(step4.resolve("optimizer.safetensors"),
                TrainingEngine.checkpointDir(resumedOut, 4).resolve("optimizer.safetensors"));

        if (method.usesAdapters()) {
            CliRun.Result base = CliRun.cli("eval", "--model", modelDir.toString(), "--data", evalData.toString(), "--device", "cpu");
            CliRun.Result tuned = CliRun.cli("eval", "--model", modelDir.toString(), "--adapter", step4.resolve("adapter").toString(),
                    "--data", evalData.toString(), "--device", "cpu");
            assertEquals(0, tuned.code(), tuned.err());
            assertTrue(evalLoss(tuned.out()) < evalLoss(base.out()),
                    "adapter eval " + tuned.out() + " vs base " + base.out());
        }
    }

    private static void assertSameTensors(Path expected, Path actual) {
        try (SafetensorsFile a = SafetensorsFile.open(expected); SafetensorsFile b = SafetensorsFile.open(actual)) {
            assertEquals(a.names(), b.names());
            for (String name : a.names()) {
                assertArrayEquals(a.floats(name), b.floats(name), name);
            }
        }
    }

    @Test
    void mergeWritesAModelWhoseLossEqualsTheAdapters() {
        Path out = tmp.resolve("run");
        assertEquals(0, CliRun.cli(trainArgs(Method.LORA_PRO, out)).code());
        Path adapter = TrainingEngine.checkpointDir(out, 4).resolve("adapter");
        Path merged = tmp.resolve("merged");
        CliRun.Result merge = CliRun.cli("merge", "--model", modelDir.toString(), "--adapter", adapter.toString(),
                "--out", merged.toString());
        assertEquals(0, merge.code(), merge.err());
        assertTrue(Files.isRegularFile(merged.resolve("config.json")));
        assertTrue(Files.isRegularFile(merged.resolve("tokenizer.json")));
        double withAdapter = evalLoss(CliRun.cli("eval", "--model", modelDir.toString(), "--adapter", adapter.toString(),
                "--data", evalData.toString(), "--device", "cpu").out());
        double mergedLoss = evalLoss(CliRun.cli("eval", "--model", merged.toString(), "--data", evalData.toString(),
                "--device", "cpu").out());
        assertEquals(withAdapter, mergedLoss, 1e-4);

        CliRun.Result generated = CliRun.cli("generate", "--model", merged.toString(), "--prompt", "after one comes",
                "--prompt", "after five", "--max-new-tokens", "3", "--device", "cpu");
        assertEquals(0, generated.code(), generated.err());
        assertEquals(2, generated.out().split("\n").length, generated.out());
        CliRun.Result sampled = CliRun.cli("generate", "--model", modelDir.toString(), "--adapter", adapter.toString(),
                "--prompt", "after two comes", "--top-p", "0.9", "--max-new-tokens", "3", "--device", "cpu");
        assertEquals(0, sampled.code(), sampled.err());
    }

    @Test
    void tokenizerLargerThanTheEmbeddingIsRefusedBeforeAnyOutput() throws IOException {
        Path small = saveModel(tmp.resolve("small"), 300);
        Path out = tmp.resolve("never");
        CliRun.Result r = CliRun.cli("train", "--model", small.toString(), "--data", trainData.toString(), "--out", out.toString(),
                "--max-steps", "1", "--device", "cpu");
        assertEquals(ExitCodes.BAD_INPUT, r.code());
        assertTrue(r.err().contains("vocab_size is 300"), r.err());
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertFalse(Files.exists(out));
    }

    /**
     * A run whose loss ends NaN, as in most of its steps, fails (exit 1) after drawing its loss curve,
     * and does not offer its checkpoint as an adapter: at lr 1e30 the first step blows the factors up
     * and every later step is skipped.
     */
    @Test
    void aDivergedRunFailsInsteadOfOfferingItsAdapter() {
        Path out = tmp.resolve("diverged");
        CliRun.Result r = CliRun.cli("train", "--model", modelDir.toString(), "--data", trainData.toString(),
                "--out", out.toString(), "--method", "lora", "--r", "4", "--alpha", "8", "--lr", "1e30",
                "--max-steps", "3", "--global-batch", "16", "--micro-batch", "16", "--warmup-ratio", "0",
                "--device", "cpu", "--max-seq-length", "64");
        assertEquals(ExitCodes.FAILURE, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("final loss NaN"), r.out());
        assertFalse(r.out().contains("adapter (PEFT, for --adapter)"), r.out());
        String error = r.err().lines().filter(line -> line.startsWith("error: ")).findFirst().orElse("");
        assertTrue(error.startsWith("error: training diverged: the loss was not finite in 2 of the 3 steps run, the"
                + " last included") && error.contains("lower --lr (1.0E30)"), r.err());
        assertTrue(Files.isRegularFile(out.resolve("loss.png")), "the loss curve is drawn all the same");
    }

    @Test
    void keepCheckpointsLeavesTheNewestOnly() throws IOException {
        Path out = tmp.resolve("kept");
        CliRun.Result r = CliRun.cli(trainArgs(Method.LORA, out, "--keep-checkpoints", "1"));
        assertEquals(0, r.code(), r.err());
        try (java.util.stream.Stream<Path> list = Files.list(out.resolve(TrainingEngine.CHECKPOINTS_DIR))) {
            assertEquals(List.of(TrainingEngine.checkpointDir(out, 4)), list.toList());
        }
        assertTrue(r.out().contains(TrainingEngine.checkpointDir(out, 4).toString()), r.out());
        assertFalse(r.err().contains("warning"), r.err());
        // without --checkpoint-interval a new run writes one checkpoint: nothing to keep or delete
        List<String> idleArgs = new ArrayList<>(List.of(trainArgs(Method.LORA, tmp.resolve("idle"), "--keep-checkpoints",
                "1")));
        int interval = idleArgs.indexOf("--checkpoint-interval");
        idleArgs.subList(interval, interval + 2).clear();
        CliRun.Result idle = CliRun.cli(idleArgs.toArray(new String[0]));
        assertEquals(0, idle.code(), idle.err());
        assertTrue(idle.err().contains("lorapro: warning: --keep-checkpoints has no effect without"
                + " --checkpoint-interval"), idle.err());

        Path refused = tmp.resolve("refused");
        CliRun.Result bad = CliRun.cli(trainArgs(Method.LORA, refused, "--keep-checkpoints", "-1"));
        assertEquals(ExitCodes.BAD_INPUT, bad.code(), bad.err());
        assertTrue(bad.err().contains("--keep-checkpoints must be >= 0 (0 = keep all), got -1"), bad.err());
        assertFalse(Files.exists(refused));
    }

    @Test
    void badInputIsOneLineAndExitCodeTwo() {
        Path out = tmp.resolve("x");
        CliRun.Result missingAdapter = CliRun.cli("eval", "--model", modelDir.toString(), "--adapter", tmp.resolve("nope").toString(),
                "--data", evalData.toString());
        assertEquals(ExitCodes.BAD_INPUT, missingAdapter.code());
        assertEquals(1, missingAdapter.err().strip().split("\n").length, missingAdapter.err());
        CliRun.Result badResume = CliRun.cli(trainArgs(Method.LORA, out, "--resume", shared.toString()));
        assertEquals(ExitCodes.BAD_INPUT, badResume.code(), badResume.err());
        assertFalse(Files.exists(out));
        CliRun.Result mergeNoAdapter = CliRun.cli("merge", "--model", modelDir.toString(), "--adapter", shared.toString(),
                "--out", tmp.resolve("m").toString());
        assertEquals(ExitCodes.BAD_INPUT, mergeNoAdapter.code(), mergeNoAdapter.err());
        assertFalse(Files.exists(tmp.resolve("m")));
    }

    @Test
    void infoReportsLlama2SevenBFromItsConfigAlone() throws IOException {
        Path config = tmp.resolve("config.json");
        Files.writeString(config, "{\"architectures\": [\"LlamaForCausalLM\"], \"bos_token_id\": 1, \"eos_token_id\": 2,"
                + " \"hidden_act\": \"silu\", \"hidden_size\": 4096, \"initializer_range\": 0.02,"
                + " \"intermediate_size\": 11008, \"max_position_embeddings\": 4096, \"model_type\": \"llama\","
                + " \"num_attention_heads\": 32, \"num_hidden_layers\": 32, \"num_key_value_heads\": 32,"
                + " \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false,"
                + " \"torch_dtype\": \"float16\", \"vocab_size\": 32000}", StandardCharsets.UTF_8);
        CliRun.Result r = CliRun.cli("info", "--config", config.toString(), "--r", "8");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("19,988,480 trainable"), r.out());
        assertTrue(r.out().contains("2 x 6,476,005,376 values = 51.8 GB"), r.out());

        CliRun.Result model = CliRun.cli("info", "--model", modelDir.toString());
        assertEquals(0, model.code(), model.err());
        assertTrue(model.out().contains("tensors match config.json"), model.out());
    }

    @Test
    void shardedBfloat16CheckpointLoadsAndValidates() {
        Path sharded = Fixtures.hfTiny().resolve("llama-tiny-bf16-sharded");
        CliRun.Result info = CliRun.cli("info", "--model", sharded.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("tensors match config.json"), info.out());
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(sharded, manager, ai.djl.ndarray.types.DataType.FLOAT32);
            assertEquals(ai.djl.ndarray.types.DataType.FLOAT32,
                    model.getModel().getEmbedTokens().getWeight().getArray().getDataType());
        }
    }
    @Test
    void mergeKeepsTheBaseDtypesOrConvertsAndShardsOnRequest() throws IOException {
        Path sharded = Fixtures.hfTiny().resolve("llama-tiny-bf16-sharded");
        Path adapter = Fixtures.hfTiny().resolve("llama-tiny-lora-adapter");
        Path kept = tmp.resolve("kept");
        CliRun.Result merge = CliRun.cli("merge", "--model", sharded.toString(), "--adapter", adapter.toString(),
                "--out", kept.toString());
        assertEquals(0, merge.code(), merge.err());
        assertTrue(merge.out().contains("adapted layers"), merge.out());
        assertArrayEquals(Files.readAllBytes(sharded.resolve("config.json")),
                Files.readAllBytes(kept.resolve("config.json")));
        try (HfCheckpoint base = HfCheckpoint.open(sharded);
                HfCheckpoint merged = HfCheckpoint.open(kept)) {
            assertEquals(base.names(), merged.names());
            for (String name : merged.names()) {
                assertEquals(base.info(name).dtype(), merged.info(name).dtype(), name);
            }
            String q = "model.layers.0.self_attn.q_proj.weight";
            assertFalse(java.util.Arrays.equals(base.floats(q), merged.floats(q)), "the adapter changed " + q);
        }

        Path widened = tmp.resolve("widened");
        CliRun.Result fp32 = CliRun.cli("merge", "--model", sharded.toString(), "--adapter", adapter.toString(),
                "--out", widened.toString(), "--dtype", "fp32", "--shard-size", "100KB");
        assertEquals(0, fp32.code(), fp32.err());
        assertTrue(Files.isRegularFile(widened.resolve("model.safetensors.index.json")));
        assertTrue(Files.readString(widened.resolve("config.json")).contains("\"float32\""));
        try (HfCheckpoint merged = HfCheckpoint.open(widened)) {
            assertTrue(merged.shardCount() > 1, "shards: " + merged.shardCount());
            for (String name : merged.names()) {
                assertEquals(TensorDType.F32, merged.info(name).dtype(), name);
            }
        }
        CliRun.Result info = CliRun.cli("info", "--model", widened.toString());
        assertEquals(0, info.code(), info.err());

        // the base's other files come along; weights in other formats and adapter files do not
        Path withFiles = tmp.resolve("with-files");
        Files.createDirectories(withFiles);
        try (java.util.stream.Stream<Path> files = Files.list(sharded)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, withFiles.resolve(f.getFileName()));
            }
        }
        List<String> copied = List.of("tokenizer.model", "chat_template.jinja", "preprocessor_config.json");
        List<String> dropped = List.of("pytorch_model.bin", "rust_model.ot", "model.ckpt.data-00000-of-00001",
                "adapter_config.json", "reference.safetensors");
        for (String name : copied) {
            Files.writeString(withFiles.resolve(name), name);
        }
        for (String name : dropped) {
            Files.writeString(withFiles.resolve(name), name);
        }
        Path mergedWithFiles = tmp.resolve("merged-with-files");
        CliRun.Result copies = CliRun.cli("merge", "--model", withFiles.toString(), "--adapter", adapter.toString(),
                "--out", mergedWithFiles.toString());
        assertEquals(0, copies.code(), copies.err());
        for (String name : copied) {
            assertEquals(name, Files.readString(mergedWithFiles.resolve(name)), name);
        }
        for (String name : dropped) {
            assertFalse(Files.exists(mergedWithFiles.resolve(name)), name + " was copied");
        }

        CliRun.Result badType = CliRun.cli("merge", "--model", sharded.toString(), "--adapter", adapter.toString(),
                "--out", tmp.resolve("never").toString(), "--dtype", "int8");
        assertEquals(ExitCodes.BAD_INPUT, badType.code(), badType.err());
        // every value merge takes, base (its default) included
        assertTrue(badType.err().contains("--dtype: 'int8' is not base, bf16, fp16 or fp32"), badType.err());
        assertFalse(Files.exists(tmp.resolve("never")));
    }
}
