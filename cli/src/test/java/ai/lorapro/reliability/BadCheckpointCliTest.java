package ai.lorapro.reliability;

import ai.lorapro.cli.CliRun;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.ExitCodes;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.train.TinyModels;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Broken checkpoints and configs through the command line: {@code lorapro info --model DIR} and
 * {@code lorapro train --model DIR ...} each fail with exit code 2 and one {@code error:} line that
 * names the file, and {@code train} leaves its {@code --out} directory uncreated.
 */
class BadCheckpointCliTest {

    @TempDir
    static Path shared;

    private static Path good;
    private static Path data;
    private static byte[] weights;
    private static int threads;

    @TempDir
    Path tmp;

    @BeforeAll
    static void saveModel() throws IOException {
        threads = TinyModels.singleThread();
        good = TinyHfModel.save(shared.resolve("good"));
        data = shared.resolve("train.jsonl");
        Files.writeString(data, TinyHfModel.jsonl(8, 1), StandardCharsets.UTF_8);
        weights = Files.readAllBytes(good.resolve("model.safetensors"));
    }

    @AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    /** A copy of the good model whose model.safetensors is {@code edit(bytes)}. */
    private Path withWeights(String name, UnaryOperator<byte[]> edit) throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve(name));
        Files.write(dir.resolve("model.safetensors"), edit.apply(weights.clone()));
        return dir;
    }

    /** A copy of the good model whose header JSON is edited. */
    private Path withHeader(String name, java.util.function.Consumer<JsonObject> edit) throws IOException {
        return withWeights(name, bytes -> {
            JsonObject header = TinyHfModel.header(bytes);
            edit.accept(header);
            return TinyHfModel.withHeader(bytes, header.toString());
        });
    }

    /** The first and second tensors of the header, by offset. */
    private static List<JsonObject> tensorsByOffset(JsonObject header) {
        List<JsonObject> out = new ArrayList<>();
        header.keySet().stream().filter(k -> !k.equals("__metadata__"))
                .map(header::getAsJsonObject)
                .sorted((a, b) -> Long.compare(a.getAsJsonArray("data_offsets").get(0).getAsLong(),
                        b.getAsJsonArray("data_offsets").get(0).getAsLong()))
                .forEach(out::add);
        return out;
    }

    private static void setOffsets(JsonObject tensor, long begin, long end) {
        JsonArray o = new JsonArray();
        o.add(new JsonPrimitive(begin));
        o.add(new JsonPrimitive(end));
        tensor.add("data_offsets", o);
    }

    /**
     * Runs info and train on {@code model}; both must exit 2 with one error line mentioning every
     * one of {@code mustMention}, and train must not create its output directory.
     */
    private void assertRefused(Path model, String... mustMention) {
        CliRun.Result info = cli("info", "--model", model.toString());
        assertOneLineBadInput("info", info, mustMention);
        Path out = tmp.resolve("out-" + model.getFileName());
        CliRun.Result train = cli("train", "--model", model.toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", "1", "--device", "cpu");
        assertOneLineBadInput("train", train, mustMention);
        assertFalse(Files.exists(out), "train left " + out + " behind");
    }

    static void assertOneLineBadInput(String what, CliRun.Result r, String... mustMention) {
        assertEquals(ExitCodes.BAD_INPUT, r.code(), what + ": " + r.err() + r.out());
        String[] lines = r.errLines();
        assertEquals(1, lines.length, what + " printed " + r.err().substring(0, Math.min(400, r.err().length())));
        assertTrue(lines[0].startsWith("error: "), lines[0]);
        for (String s : mustMention) {
            assertTrue(lines[0].contains(s), what + ": '" + lines[0] + "' does not mention '" + s + "'");
        }
    }

    @Test
    void theUnbrokenModelPassesInfo() {
        CliRun.Result info = cli("info", "--model", good.toString());
        assertEquals(0, info.code(), info.err());
        assertTrue(info.out().contains("tensors match config.json"), info.out());
    }

    @Test
    void aMalformedConfigIsOneLine() throws IOException {
        Path copy = TinyHfModel.copy(good, tmp.resolve("bad-config"));
        Path config = copy.resolve("config.json");
        Files.writeString(config, Files.readString(config).replaceFirst("\\{", "{,"));
        // Gson appends a troubleshooting link on a second line, which used to be printed too
        assertOneLineBadInput("info --config", cli("info", "--config", config.toString()), "config.json",
                "malformed JSON");
        assertOneLineBadInput("info --model", cli("info", "--model", copy.toString()), "config.json",
                "malformed JSON");
    }

    @Test
    void infoWarnsOfATargetModuleThatMatchesNoLayer() {
        // it used to count the layers of the names that matched and say nothing of the other
        CliRun.Result info = cli("info", "--model", good.toString(), "--targets", "q_proj,vv_proj");
        assertEquals(0, info.code(), info.err());
        assertTrue(info.err().contains("warning: --targets vv_proj match no linear layer"), info.err());
        assertOneLineBadInput("info --target-modules", cli("info", "--config", good.resolve("config.json").toString(),
                "--target-modules", "vv_proj"), "vv_proj", "match no linear layer");
    }

    @Test
    void aLoraCheckpointGivenAsModelIsNamedWithItsAdapter() throws IOException {
        Path checkpoint = Files.createDirectories(tmp.resolve("step-000010/adapter")).getParent();
        Files.writeString(checkpoint.resolve("adapter/adapter_config.json"), "{}");
        Files.writeString(checkpoint.resolve("trainer_state.json"), "{}");
        assertOneLineBadInput("generate --model <checkpoint>", cli("generate", "--model", checkpoint.toString(),
                "--prompt", "x"), "is a LoRA training checkpoint", "--adapter");
    }

    @Test
    void truncatedFile() throws IOException {
        assertRefused(withWeights("truncated", b -> Arrays.copyOf(b, b.length / 2)), "model.safetensors");
        assertRefused(withWeights("truncated-in-length", b -> Arrays.copyOf(b, 5)), "model.safetensors");
    }

    @Test
    void headerLengthLargerThanTheFileOrAbsurd() throws IOException {
        assertRefused(withWeights("beyond", b -> TinyHfModel.withHeaderLength(b, b.length)), "model.safetensors");
        assertRefused(withWeights("absurd", b -> TinyHfModel.withHeaderLength(b, Long.MAX_VALUE)), "model.safetensors");
        assertRefused(withWeights("negative", b -> TinyHfModel.withHeaderLength(b, -8)), "model.safetensors");
    }

    @Test
    void malformedJsonHeader() throws IOException {
        assertRefused(withWeights("json", b -> {
            String text = new String(b, 8, (int) TinyHfModel.headerLength(b), StandardCharsets.UTF_8);
            return TinyHfModel.withHeader(b, text.replaceFirst("\\{", "["));
        }), "model.safetensors");
    }

    @Test
    void unknownDtype() throws IOException {
        assertRefused(withHeader("dtype", h -> tensorsByOffset(h).get(0).addProperty("dtype", "F7")),
                "model.safetensors", "F7");
    }

    @Test
    void shapeDisagreesWithTheByteRange() throws IOException {
        assertRefused(withHeader("shape", h -> {
            JsonArray shape = new JsonArray();
            shape.add(3);
            shape.add(5);
            tensorsByOffset(h).get(0).add("shape", shape);
        }), "model.safetensors");
    }

    @Test
    void overlappingOffsets() throws IOException {
        assertRefused(withHeader("overlap", h -> {
            List<JsonObject> t = tensorsByOffset(h);
            // the second tensor moved half into the first, keeping its length
            JsonArray first = t.get(0).getAsJsonArray("data_offsets");
            JsonArray second = t.get(1).getAsJsonArray("data_offsets");
            long length = second.get(1).getAsLong() - second.get(0).getAsLong();
            long begin = (first.get(0).getAsLong() + first.get(1).getAsLong()) / 2 / 4 * 4;
            setOffsets(t.get(1), begin, begin + length);
        }), "model.safetensors");
    }

    @Test
    void outOfRangeOffsets() throws IOException {
        assertRefused(withHeader("range", h -> {
            List<JsonObject> t = tensorsByOffset(h);
            JsonObject last = t.get(t.size() - 1);
            JsonArray o = last.getAsJsonArray("data_offsets");
            long length = o.get(1).getAsLong() - o.get(0).getAsLong();
            setOffsets(last, o.get(0).getAsLong() + 64, o.get(1).getAsLong() + 64);
            assertTrue(length > 0);
        }), "model.safetensors");
        assertRefused(withHeader("negative-offset", h -> setOffsets(tensorsByOffset(h).get(0), -4, 60)),
                "model.safetensors");
    }

    @Test
    void tensorMissingForAModule() throws IOException {
        Path dir = tmp.resolve("missing-tensor");
        TinyHfModel.save(dir, TinyHfModel.HIDDEN, (name, i) -> !name.equals("model.layers.0.mlp.up_proj.weight"));
        assertRefused(dir, "model.layers.0.mlp.up_proj.weight");
    }

    @Test
    void tensorShapeDisagreesWithTheConfig() throws IOException {
        Path dir = tmp.resolve("wrong-size");
        TinyHfModel.save(dir, 24, (name, i) -> true);
        Files.writeString(dir.resolve("config.json"), TinyHfModel.configJson(TinyHfModel.HIDDEN, TinyHfModel.VOCAB));
        assertRefused(dir, "shape");
    }

    @Test
    void shardNamedInTheIndexIsMissing() throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve("sharded"));
        Path single = dir.resolve("model.safetensors");
        JsonObject map = new JsonObject();
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            SafetensorsWriter first = new SafetensorsWriter();
            SafetensorsWriter second = new SafetensorsWriter();
            int i = 0;
            for (String name : f.names()) {
                TensorInfo info = f.info(name);
                boolean one = i++ % 2 == 0;
                (one ? first : second).addRaw(name, info.dtype(), info.shape().getShape(), f.bytes(name));
                map.addProperty(name, one ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
            }
            first.write(dir.resolve("model-00001-of-00002.safetensors"));
            second.write(dir.resolve("model-00002-of-00002.safetensors"));
        }
        Files.delete(single);
        JsonObject index = new JsonObject();
        index.add("metadata", new JsonObject());
        index.add("weight_map", map);
        Files.writeString(dir.resolve("model.safetensors.index.json"), index.toString());
        CliRun.Result ok = cli("info", "--model", dir.toString());
        assertEquals(0, ok.code(), ok.err());
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertRefused(dir, "model-00002-of-00002.safetensors");
    }

    @Test
    void pickleCheckpointsAreRefusedWithAConversionHint() throws IOException {
        for (String name : new String[] {"pytorch_model.bin", "model.pt"}) {
            Path dir = TinyHfModel.copy(good, tmp.resolve("pickle-" + name));
            Files.delete(dir.resolve("model.safetensors"));
            // a pickle opcode stream: were it ever deserialised by anything, it would fail differently
            byte[] pickle = {(byte) 0x80, 0x02, 'c', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', '.'};
            Files.write(dir.resolve(name), pickle);
            assertRefused(dir, name, "convert", "safetensors");
            assertTrue(Arrays.equals(pickle, Files.readAllBytes(dir.resolve(name))));
        }
    }

    @Test
    void configMissingARequiredKey() throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve("no-hidden"));
        editConfig(dir, c -> c.remove("hidden_size"));
        assertRefused(dir, "config.json", "hidden_size");
    }

    @Test
    void configWithAnUnsupportedModelType() throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve("gpt2"));
        editConfig(dir, c -> c.addProperty("model_type", "gpt2"));
        assertRefused(dir, "config.json", "model_type");
    }

    @Test
    void configWithHiddenSizeNotDivisibleByTheHeads() throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve("heads"));
        editConfig(dir, c -> c.addProperty("num_attention_heads", 3));
        assertRefused(dir, "config.json", "num_attention_heads");
        CliRun.Result fromConfig = cli("info", "--config", dir.resolve("config.json").toString());
        assertOneLineBadInput("info --config", fromConfig, "config.json", "num_attention_heads");
    }

    @Test
    void malformedConfigJson() throws IOException {
        Path dir = TinyHfModel.copy(good, tmp.resolve("config-json"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", ");
        assertRefused(dir, "config.json");
    }

    private static void editConfig(Path dir, java.util.function.Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve("config.json");
        JsonObject config = com.google.gson.JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(config);
        Files.writeString(file, config.toString());
    }
}
