package ai.lorapro.reliability;

import ai.lorapro.cli.CliRun;
import static ai.lorapro.reliability.BadCheckpointCliTest.assertOneLineBadInput;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.TinyModels;

import com.google.gson.JsonArray;
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
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Bad adapters, data, run names and tokenizers through the command line: exit code 2, one {@code
 * error:} line naming the file, field or line, and no output left behind.
 */
class BadInputCliTest {

    @TempDir
    static Path shared;

    private static Path model;
    private static Path data;
    private static int threads;

    @TempDir
    Path tmp;

    @BeforeAll
    static void saveModel() throws IOException {
        threads = TinyModels.singleThread();
        model = TinyHfModel.save(shared.resolve("model"));
        data = shared.resolve("train.jsonl");
        Files.writeString(data, TinyHfModel.jsonl(8, 1), StandardCharsets.UTF_8);
    }

    @AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    /** A PEFT adapter with r 4 on q_proj and v_proj for a tiny model of the given hidden size. */
    private static Path adapter(Path dir, int hidden) {
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM m = LlamaForCausalLM.random(TinyHfModel.config(hidden, TinyHfModel.VOCAB), manager, 5);
            LoraInjector.inject(m, LoraConfig.builder().setR(4).setAlpha(8).optTargetModules("q_proj", "v_proj").build());
            PeftAdapter.save(m, dir, model.toString(), "CAUSAL_LM");
        }
        return dir;
    }

    private static void editAdapterConfig(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve(PeftAdapter.CONFIG_NAME);
        JsonObject config = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(config);
        Files.writeString(file, config.toString());
    }

    /** eval, generate and merge with {@code adapterDir} all refuse it; merge writes no --out. */
    private void assertAdapterRefused(Path adapterDir, String... mustMention) {
        String a = adapterDir.toString();
        assertOneLineBadInput("eval", cli("eval", "--model", model.toString(), "--adapter", a,
                "--data", data.toString(), "--device", "cpu"), mustMention);
        assertOneLineBadInput("generate", cli("generate", "--model", model.toString(), "--adapter", a,
                "--prompt", "after one comes", "--max-new-tokens", "2", "--device", "cpu"), mustMention);
        Path merged = tmp.resolve("merged-" + adapterDir.getFileName());
        assertOneLineBadInput("merge", cli("merge", "--model", model.toString(), "--adapter", a,
                "--out", merged.toString()), mustMention);
        assertFalse(Files.exists(merged), "merge left " + merged);
        assertNoTempFiles(tmp);
    }

    private static void assertNoTempFiles(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            List<Path> temps = all.filter(p -> p.getFileName().toString().contains(".tmp-")).toList();
            assertTrue(temps.isEmpty(), "temporary files left: " + temps);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aMatchingAdapterIsAccepted() {
        Path dir = adapter(tmp.resolve("ok"), TinyHfModel.HIDDEN);
        CliRun.Result r = cli("eval", "--model", model.toString(), "--adapter", dir.toString(),
                "--data", data.toString(), "--device", "cpu");
        assertEquals(0, r.code(), r.err());
    }

    @Test
    void adapterShapesDisagreeWithTheBaseModel() {
        Path dir = adapter(tmp.resolve("hidden24"), 24);
        assertAdapterRefused(dir, "adapter_model.safetensors", "shape");
    }

    @Test
    void adapterTargetsAModuleTheModelDoesNotHave() throws IOException {
        Path onlyConfig = adapter(tmp.resolve("target-config"), TinyHfModel.HIDDEN);
        editAdapterConfig(onlyConfig, c -> {
            JsonArray targets = new JsonArray();
            targets.add("w_proj");
            c.add("target_modules", targets);
        });
        assertAdapterRefused(onlyConfig, "w_proj");

        Path keysToo = adapter(tmp.resolve("target-keys"), TinyHfModel.HIDDEN);
        editAdapterConfig(keysToo, c -> {
            JsonArray targets = new JsonArray();
            targets.add("w_proj");
            targets.add("v_proj");
            c.add("target_modules", targets);
        });
        Path weights = keysToo.resolve(PeftAdapter.WEIGHTS_NAME);
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile f = SafetensorsFile.open(weights)) {
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : f.names()) {
                NDArray array = f.load(manager, name, ai.djl.ndarray.types.DataType.FLOAT32);
                writer.add(name.replace("q_proj", "w_proj"), array);
            }
            Path renamed = keysToo.resolve("renamed.safetensors");
            writer.write(renamed);
            f.close();
            Files.move(renamed, weights, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        assertAdapterRefused(keysToo, "w_proj");
    }

    /**
     * An adapter whose saved target list also names modules this model lacks (a list shared between
     * architectures) loads, as PEFT loads it, as long as one name matches; a list the user types is
     * still held to every name (LoraInjectorTest).
     */
    @Test
    void anAdapterWhoseTargetsAlsoNameAbsentModulesIsAccepted() throws IOException {
        Path dir = adapter(tmp.resolve("shared-targets"), TinyHfModel.HIDDEN);
        editAdapterConfig(dir, c -> {
            JsonArray targets = new JsonArray();
            for (String name : List.of("q_proj", "v_proj", "query_key_value")) {
                targets.add(name);
            }
            c.add("target_modules", targets);
        });
        CliRun.Result generated = cli("generate", "--model", model.toString(), "--adapter", dir.toString(), "--prompt",
                "after one comes", "--max-new-tokens", "2", "--device", "cpu");
        assertEquals(0, generated.code(), generated.err());
        Path merged = tmp.resolve("merged-shared");
        CliRun.Result merge = cli("merge", "--model", model.toString(), "--adapter", dir.toString(), "--out",
                merged.toString());
        assertEquals(0, merge.code(), merge.err());
    }

    /** --temperature and --seed shape top-p sampling only: alone they are warned about, not silently ignored. */
    @Test
    void samplingOptionsWithoutTopPAreWarnedAbout() {
        CliRun.Result greedy = cli("generate", "--model", model.toString(), "--prompt", "after one comes",
                "--max-new-tokens", "1", "--temperature", "0.7", "--device", "cpu");
        assertEquals(0, greedy.code(), greedy.err());
        assertTrue(greedy.err().contains("warning: --temperature has no effect without --top-p"), greedy.err());
        CliRun.Result sampled = cli("generate", "--model", model.toString(), "--prompt", "after one comes",
                "--max-new-tokens", "1", "--temperature", "0.7", "--top-p", "0.9", "--device", "cpu");
        assertEquals(0, sampled.code(), sampled.err());
        assertFalse(sampled.err().contains("warning"), sampled.err());
    }

    @Test
    void adapterRankDiffersFromItsConfig() throws IOException {
        Path dir = adapter(tmp.resolve("rank"), TinyHfModel.HIDDEN);
        editAdapterConfig(dir, c -> c.addProperty("r", 8));
        assertAdapterRefused(dir, "adapter");
    }

    /**
     * A mistyped or broken --adapter is refused before the base weights load (a 7B model takes
     * minutes): here the base weights are broken too, and the adapter is what the error names.
     */
    @Test
    void aBadAdapterIsRefusedBeforeTheModelLoads() throws IOException {
        Path broken = TinyHfModel.copy(model, tmp.resolve("broken-model"));
        Path weights = broken.resolve("model.safetensors");
        Files.write(weights, java.util.Arrays.copyOf(Files.readAllBytes(weights), 100));
        Path missing = tmp.resolve("no-such-adapter");
        Path noWeights = Files.createDirectories(tmp.resolve("config-only"));
        Files.copy(adapter(tmp.resolve("whole"), TinyHfModel.HIDDEN).resolve(PeftAdapter.CONFIG_NAME),
                noWeights.resolve(PeftAdapter.CONFIG_NAME));
        for (Path a : List.of(missing, noWeights)) {
            assertOneLineBadInput("generate --adapter " + a, cli("generate", "--model", broken.toString(), "--adapter",
                    a.toString(), "--prompt", "one", "--max-new-tokens", "1", "--device", "cpu"), a.toString());
            assertOneLineBadInput("eval --task --adapter " + a, cli("eval", "--task", "gsm8k", "--model", broken.toString(),
                    "--adapter", a.toString(), "--data", data.toString(), "--out", tmp.resolve("e").toString()),
                    a.toString());
        }
    }

    @Test
    void pickleAdapterIsRefusedWithAConversionHint() throws IOException {
        Path dir = adapter(tmp.resolve("pickle"), TinyHfModel.HIDDEN);
        Files.delete(dir.resolve(PeftAdapter.WEIGHTS_NAME));
        Files.write(dir.resolve("adapter_model.bin"), new byte[] {(byte) 0x80, 0x02, '.'});
        assertAdapterRefused(dir, "adapter_model.bin", "convert", "safetensors");
    }

    /** train on {@code dataFile} fails with exit 2 naming {@code where} and writes no --out. */
    private void assertTrainRefused(Path dataFile, String option, String... mustMention) {
        Path out = tmp.resolve("out");
        List<String> args = new java.util.ArrayList<>(List.of("train", "--model", model.toString(),
                option, dataFile.toString(), "--out", out.toString(), "--max-steps", "1", "--device", "cpu"));
        if (!option.equals("--data")) {
            args.addAll(List.of("--data", data.toString()));
        }
        CliRun.Result r = cli(args.toArray(new String[0]));
        assertOneLineBadInput("train", r, mustMention);
        assertFalse(Files.exists(out), "train left " + out);
    }

    /** r larger than the model's layers: refused with exit 2 before any step (it used to run for hours). */
    @Test
    void aRankLargerThanTheLayersIsRefused() {
        Path out = tmp.resolve("out");
        CliRun.Result r = cli("train", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString(), "--max-steps", "1", "--device", "cpu", "--r", "4096");
        assertOneLineBadInput("train", r, "r = 4096", "r <= " + TinyHfModel.HIDDEN);
        assertFalse(Files.exists(out), "train left " + out);
    }

    @Test
    void emptyDataset() throws IOException {
        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "");
        assertTrainRefused(empty, "--data", "empty.jsonl");
        Path blank = tmp.resolve("blank.jsonl");
        Files.writeString(blank, "\n\n  \n");
        assertTrainRefused(blank, "--data", "blank.jsonl");
    }

    @Test
    void malformedJsonLineIsNamedByFileAndLine() throws IOException {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, TinyHfModel.jsonl(2, 1) + "{\"prompt\": \"after one\", \"response\n"
                + TinyHfModel.jsonl(2, 2));
        assertTrainRefused(bad, "--data", "bad.jsonl:3");
        assertTrainRefused(bad, "--eval-data", "bad.jsonl:3");
    }

    @Test
    void missingFieldIsNamedByFileLineAndField() throws IOException {
        Path bad = tmp.resolve("field.jsonl");
        Files.writeString(bad, TinyHfModel.jsonl(1, 1) + "{\"prompt\": \"after one comes\"}\n");
        assertTrainRefused(bad, "--data", "field.jsonl:2", "response");
    }

    @Test
    void runNamesCannotLeaveTheOutputDirectory() throws IOException {
        Path root = tmp.resolve("root");
        Path out = root.resolve("out");
        for (String name : new String[] {"..", "../escaped", "/tmp/escaped", "a/b", "a\\b", ".", "", "c:x"}) {
            CliRun.Result r = cli("train", "--model", model.toString(), "--data", data.toString(),
                    "--out", out.toString(), "--run-name", name, "--max-steps", "1", "--device", "cpu");
            assertOneLineBadInput("--run-name '" + name + "'", r, "--run-name");
            assertFalse(Files.exists(root), "--run-name '" + name + "' created " + root);
        }
        assertFalse(Files.exists(Path.of("/tmp/escaped")));
    }

    @Test
    void tokenizerWithIdsAtOrBeyondTheVocabularyIsRefusedBeforeTraining() throws IOException {
        int ids;
        try (HfTokenizer tokenizer = HfTokenizer.load(model.resolve("tokenizer.json"))) {
            ids = (int) tokenizer.vocabSize();
        }
        // one row short: the largest id has no embedding
        Path shortModel = TinyHfModel.copy(model, tmp.resolve("short"));
        Files.writeString(shortModel.resolve("config.json"), TinyHfModel.configJson(TinyHfModel.HIDDEN, ids - 1));
        Path out = tmp.resolve("out");
        CliRun.Result r = cli("train", "--model", shortModel.toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "1", "--device", "cpu");
        assertOneLineBadInput("train", r, "vocab_size is " + (ids - 1), "tokenizer.json");
        assertFalse(Files.exists(out));

        // exactly as many rows as ids passes the check: the run fails later, on the data
        Path exact = TinyHfModel.copy(model, tmp.resolve("exact"));
        Files.writeString(exact.resolve("config.json"), TinyHfModel.configJson(TinyHfModel.HIDDEN, ids));
        Path empty = tmp.resolve("empty.jsonl");
        Files.writeString(empty, "");
        CliRun.Result later = cli("train", "--model", exact.toString(), "--data", empty.toString(),
                "--out", out.toString(), "--max-steps", "1", "--device", "cpu");
        assertOneLineBadInput("train", later, "empty.jsonl");
        assertFalse(Files.exists(out));
    }
}
