package ai.lorapro.reliability;

import static ai.lorapro.reliability.BadCheckpointCliTest.assertOneLineBadInput;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.lorapro.cli.CliRun;
import ai.lorapro.data.TextLines;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.train.MetricsLog;
import ai.lorapro.train.MetricsWriter;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Sizes, ids, patterns and special files from configs, adapters, tokenizers, data and options are
 * checked before they are used: each bad input is refused with exit 2 and one line, within a time
 * bound, instead of blocking, hanging or allocating without limit.
 */
class BoundedInputCliTest extends TinyModelCliTestBase {

    /** Generous for a loaded 2-core machine; each case takes well under a second when idle. */
    static final Duration BOUND = Duration.ofSeconds(60);


    @TempDir
    Path tmp;

    /** Same thread (PyTorch's grad mode is per thread), time checked afterwards. */
    static void assertRefusedInTime(String what, Supplier<CliRun.Result> run, String... mustMention) {
        long t0 = System.nanoTime();
        CliRun.Result r = run.get();
        assertTrue(System.nanoTime() - t0 < BOUND.toNanos(), what + " was not refused in time");
        assertOneLineBadInput(what, r, mustMention);
    }

    /** On another thread, so that a reader blocked on a FIFO fails the test instead of hanging it. */
    static void assertRefusedWithoutBlocking(String what, Supplier<CliRun.Result> run, String... mustMention) {
        CliRun.Result r = assertTimeoutPreemptively(BOUND, run::get, what + " was not refused in time");
        assertOneLineBadInput(what, r, mustMention);
    }

    private static Path fifo(Path path) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("mkfifo", path.toString()).start();
        } catch (IOException e) {
            assumeTrue(false, "mkfifo not available");
            return null;
        }
        assertTrue(p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0, "mkfifo failed");
        return path;
    }

    @Test
    void fifosAreRefusedNotBlockedOn() throws Exception {
        Path fifo = fifo(tmp.resolve("pipe"));
        String f = fifo.toString();
        assertRefusedWithoutBlocking("eval --data FIFO", () -> cli("eval", "--model", model.toString(), "--data", f,
                "--device", "cpu"), f);
        assertRefusedWithoutBlocking("train --data FIFO", () -> cli("train", "--model", model.toString(), "--data", f,
                "--out", tmp.resolve("o").toString(), "--device", "cpu"), f);
        assertRefusedWithoutBlocking("eval --tokenizer FIFO", () -> cli("eval", "--model", model.toString(), "--data",
                data.toString(), "--tokenizer", f, "--device", "cpu"), f);
        assertRefusedWithoutBlocking("eval --task gsm8k --data FIFO", () -> cli("eval", "--task", "gsm8k", "--model",
                model.toString(), "--data", f, "--out", tmp.resolve("e").toString()), f);

        Path fifoConfigModel = TinyHfModel.copy(model, tmp.resolve("fifo-config-model"));
        Files.delete(fifoConfigModel.resolve("config.json"));
        fifo(fifoConfigModel.resolve("config.json"));
        assertRefusedWithoutBlocking("config.json FIFO", () -> cli("info", "--model", fifoConfigModel.toString()),
                "config.json", "not a regular file");

        Path fifoAdapter = TinyHfModel.copy(adapter, tmp.resolve("fifo-adapter"));
        Files.delete(fifoAdapter.resolve(PeftAdapter.CONFIG_NAME));
        fifo(fifoAdapter.resolve(PeftAdapter.CONFIG_NAME));
        assertRefusedWithoutBlocking("adapter_config.json FIFO", () -> cli("merge", "--model", model.toString(),
                "--adapter", fifoAdapter.toString(), "--out", tmp.resolve("m").toString()),
                PeftAdapter.CONFIG_NAME, "not a regular file");
    }

    @Test
    void aHugeLineIsRefusedBeforeItIsReadWhole() throws IOException {
        Path huge = tmp.resolve("huge.jsonl");
        String text = "one ".repeat((int) (TextLines.MAX_LINE_CHARS / 4) + 10);
        Files.writeString(huge, TinyHfModel.jsonl(2, 1) + "{\"text\": \"" + text + "\"}\n");
        assertRefusedInTime("eval --data with a huge line", () -> cli("eval", "--model", model.toString(), "--data",
                huge.toString(), "--device", "cpu"), "huge.jsonl:3", "longer than " + TextLines.MAX_LINE_CHARS);
        assertRefusedInTime("train --data with a huge line", () -> cli("train", "--model", model.toString(),
                "--data", huge.toString(), "--out", tmp.resolve("o").toString(), "--device", "cpu"), "huge.jsonl:3");
    }

    @Test
    void specialTokenIdsOutsideTheVocabularyAreRefused() throws IOException {
        for (String field : List.of("bos_token_id", "eos_token_id", "pad_token_id")) {
            for (long id : new long[] {TinyHfModel.VOCAB, Integer.MAX_VALUE, -5}) {
                Path m = TinyHfModel.copy(model, tmp.resolve(field + id));
                Path config = m.resolve("config.json");
                JsonObject o = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
                o.addProperty(field, id);
                Files.writeString(config, o.toString());
                assertRefusedInTime(field + " " + id, () -> cli("generate", "--model", m.toString(), "--prompt",
                        "one", "--max-new-tokens", "1", "--device", "cpu"), field, String.valueOf(id));
            }
        }
    }

    @Test
    void generationLongerThanThePositionsIsRefused() {
        for (String n : new String[] {"64", "2147483647"}) {
            assertRefusedInTime("--max-new-tokens " + n, () -> cli("generate", "--model", model.toString(),
                    "--prompt", "after one comes", "--max-new-tokens", n, "--device", "cpu"),
                    "--max-new-tokens " + n, "max_position_embeddings 64");
        }
        assertRefusedInTime("--max-new-tokens overflow", () -> cli("generate", "--model", model.toString(),
                "--prompt", "x", "--max-new-tokens", "99999999999", "--device", "cpu"), "--max-new-tokens");
    }

    /**
     * eval --task bounds --max-new-tokens by the model's positions, as generate does; its own
     * default (512) is cut to them on a smaller model rather than refused, and options the task does
     * not use are said to do nothing.
     */
    @Test
    void evalTaskGenerationIsBoundedByThePositions() throws IOException {
        Path gsm8k = Files.writeString(tmp.resolve("gsm8k.jsonl"), "{\"question\": \"one and one\", \"answer\": \"#### 2\"}\n");
        assertRefusedInTime("eval --task --max-new-tokens 65", () -> cli("eval", "--task", "gsm8k", "--model",
                model.toString(), "--data", gsm8k.toString(), "--out", tmp.resolve("refused").toString(), "--device",
                "cpu", "--max-new-tokens", "65"), "--max-new-tokens", "65 exceeds the model's max_position_embeddings 64");
        CliRun.Result byDefault = cli("eval", "--task", "gsm8k", "--model", model.toString(), "--data",
                gsm8k.toString(), "--out", tmp.resolve("default").toString(), "--device", "cpu", "--model-id", "x",
                "--allow-code-execution");
        assertEquals(0, byDefault.code(), byDefault.err());
        assertTrue(byDefault.err().contains("lorapro: warning: --allow-code-execution has no effect with --task gsm8k")
                && byDefault.err().contains("lorapro: warning: --model-id has no effect with --task gsm8k"),
                byDefault.err());
    }

    @Test
    void infoRefusesARankNoLayerCanHold() {
        // train refuses it at injection; info used to print 175278% of the base parameters
        assertRefusedInTime("info --r 100000", () -> cli("info", "--model", model.toString(), "--r", "100000"),
                "r = 100000", "is larger than layer", "r <= ");
        assertEquals(0, cli("info", "--model", model.toString(), "--r", "2").code());
    }

    @Test
    void evalSkipsBadLinesWhenAsked() throws IOException {
        Path mixed = Files.writeString(tmp.resolve("mixed.jsonl"), TinyHfModel.jsonl(3, 1) + "{not json\n");
        assertOneLineBadInput("eval without --skip-bad-lines", cli("eval", "--model", model.toString(), "--data",
                mixed.toString(), "--device", "cpu"), "mixed.jsonl:4");
        CliRun.Result skipped = cli("eval", "--model", model.toString(), "--data", mixed.toString(), "--device", "cpu",
                "--skip-bad-lines");
        assertEquals(0, skipped.code(), skipped.err());
        assertTrue(skipped.out().contains("examples 3"), skipped.out());
        assertFalse(skipped.err().contains("warning"), skipped.err());
        // the options of a --task evaluation do nothing here, and say so
        CliRun.Result idle = cli("eval", "--model", model.toString(), "--data", mixed.toString(), "--device", "cpu",
                "--skip-bad-lines", "--limit", "2", "--out", tmp.resolve("unused").toString());
        assertEquals(0, idle.code(), idle.err());
        assertTrue(idle.err().contains("warning: --limit has no effect without --task"), idle.err());
        assertTrue(idle.err().contains("warning: --out has no effect without --task"), idle.err());
    }

    @Test
    void aCatastrophicTargetPatternIsRefusedQuickly() throws IOException {
        Path a = TinyHfModel.copy(adapter, tmp.resolve("regex-adapter"));
        Path config = a.resolve(PeftAdapter.CONFIG_NAME);
        JsonObject o = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
        o.addProperty("target_modules", "(.*){1,32}z");
        Files.writeString(config, o.toString());
        assertRefusedInTime("target_modules (.*){1,32}z", () -> cli("merge", "--model", model.toString(), "--adapter",
                a.toString(), "--out", tmp.resolve("m").toString()), "(.*){1,32}z", "catastrophic backtracking");
    }

    @Test
    void evalTaskChecksTheTokenizerFitsTheModel() throws IOException {
        Path small = TinyHfModel.copy(model, tmp.resolve("small-vocab"));
        Path config = small.resolve("config.json");
        JsonObject o = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
        o.addProperty("vocab_size", 100);
        Files.writeString(config, o.toString());
        Path gsm = Files.writeString(tmp.resolve("gsm.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n");
        assertRefusedInTime("eval --task with a larger tokenizer", () -> cli("eval", "--task", "gsm8k", "--model",
                small.toString(), "--data", gsm.toString(), "--out", tmp.resolve("e").toString()),
                "do not belong together");
    }

    /** A padding id without an embedding row would fail mid-run in the engine: refused up front, naming it. */
    @Test
    void aTokenizerPaddingIdOutsideTheVocabularyIsRefused() throws IOException {
        Path copy = TinyHfModel.copy(model, tmp.resolve("bad-pad"));
        Path tokenizer = copy.resolve("tokenizer.json");
        JsonObject o = JsonParser.parseString(Files.readString(tokenizer)).getAsJsonObject();
        o.add("padding", JsonParser.parseString("{\"strategy\": \"BatchLongest\", \"direction\": \"Right\","
                + " \"pad_to_multiple_of\": null, \"pad_id\": 70000, \"pad_type_id\": 0, \"pad_token\": \"<pad>\"}"));
        Files.writeString(tokenizer, o.toString());
        Path gsm = Files.writeString(tmp.resolve("gsm.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n");
        assertRefusedInTime("eval --task with a padding id beyond the vocabulary", () -> cli("eval", "--task", "gsm8k",
                "--model", copy.toString(), "--data", gsm.toString(), "--out", tmp.resolve("e").toString()),
                "padding.pad_id 70000");
        Path metamath = Files.writeString(tmp.resolve("metamath.json"),
                "[{\"query\": \"What is 2+3?\", \"response\": \"The answer is: 5\"}]");
        assertRefusedInTime("train --task with a padding id beyond the vocabulary", () -> cli("train", "--task",
                "metamath", "--model", copy.toString(), "--data", metamath.toString(), "--max-steps", "1", "--out",
                tmp.resolve("t").toString()), "padding.pad_id 70000");
    }

    @Test
    void usageErrorsAreOneLineWithAHint() {
        for (String[] args : new String[][] {{"train", "--bogus"}, {"train"}, {"merge", "--model"},
                {"eval", "--batch", "many", "--model", "m", "--data", "d"}, {"frobnicate"}, {}}) {
            CliRun.Result r = cli(args);
            assertOneLineBadInput(String.join(" ", args), r, "--help");
        }
        // picocli's "Error: ..." messages get one prefix, ours
        CliRun.Result both = cli("info", "--config", "c.json", "--model", "m");
        assertOneLineBadInput("info --config --model", both, "mutually exclusive");
        assertTrue(both.err().startsWith("error: ") && !both.err().contains("Error:"), both.err());
        // a mistyped command or option names the near one
        assertOneLineBadInput("trian", cli("trian"), "did you mean train");
        assertOneLineBadInput("train --max-step", cli("train", "--model", "m", "--data", "d", "--out", "o", "--max-step", "1"),
                "did you mean --max-steps");
    }

    @Test
    void metricsLinesAreStrictJsonEvenForNonFiniteValues() throws IOException {
        Path file = tmp.resolve("metrics.jsonl");
        try (MetricsWriter w = MetricsWriter.open(file, false)) {
            w.writeTrain(1, 0.1, Double.NaN, 1e-3, Double.POSITIVE_INFINITY, 10, 2.0, 0.5);
            w.writeTrain(2, 0.2, 0.5, 1e-3, 1.0, 10, 2.0, 0.5);
            w.writeEval(2, Map.of("loss", Double.NEGATIVE_INFINITY));
        }
        List<String> lines = Files.readAllLines(file);
        List<JsonObject> parsed = new ArrayList<>();
        for (String line : lines) {
            assertTrue(!line.contains("NaN,") && !line.contains(":NaN") && !line.contains(":Infinity")
                    && !line.contains(":-Infinity"), line);
            JsonReader strict = new JsonReader(new StringReader(line));
            strict.setStrictness(Strictness.STRICT);
            parsed.add(JsonParser.parseReader(strict).getAsJsonObject());
        }
        assertEquals("NaN", parsed.get(0).get("loss").getAsString());
        assertEquals("Infinity", parsed.get(0).get("grad_norm").getAsString());
        assertEquals("-Infinity", parsed.get(2).get("eval_loss").getAsString());
        MetricsLog.Series losses = MetricsLog.read(file, "loss");
        assertTrue(Double.isNaN(losses.values()[0]));
        assertEquals(0.5, losses.values()[1]);
    }

    /** Child JVM: DJL's start-up log lines do not precede the one error line. */
    @Test
    void anErrorAfterDjlStartsIsStillOneLine() throws Exception {
        Path a = TinyHfModel.copy(adapter, tmp.resolve("bad-shape-adapter"));
        Path config = a.resolve(PeftAdapter.CONFIG_NAME);
        JsonObject o = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
        o.addProperty("r", 8);
        Files.writeString(config, o.toString());
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx512m",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "ai.lorapro.cli.LoraProCli", "merge", "--model", model.toString(), "--adapter", a.toString(),
                "--out", tmp.resolve("m").toString()));
        Path err = tmp.resolve("err.txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(err.toFile())
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "child did not finish");
        List<String> lines = Files.readAllLines(err).stream().filter(l -> !l.isBlank()).toList();
        assertEquals(2, p.exitValue(), String.join("\n", lines));
        assertEquals(1, lines.size(), "stderr: " + lines);
        assertTrue(lines.get(0).startsWith("error: "), lines.get(0));
    }
}
