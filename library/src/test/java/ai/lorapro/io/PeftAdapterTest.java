package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.HfModuleList;
import ai.lorapro.nn.Weights;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;

class PeftAdapterTest {

    @TempDir Path tmp;

    private NDManager manager;

    @BeforeEach
    void setUp() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** A llama-shaped stack of linear layers: model.layers.N.{self_attn,mlp}.*_proj plus lm_head. */
    static final class TinyModel extends HfBlock implements HasOutputHead {
        final HfModuleList<Layer> layers;

        TinyModel(int hidden, int kv, int intermediate, int vocab, int numLayers) {
            Inner inner = module("model", new Inner());
            layers = inner.layers;
            for (int i = 0; i < numLayers; i++) {
                layers.add(new Layer(hidden, kv, intermediate));
            }
            module("lm_head", linear(hidden, vocab));
        }

        @Override
        public Set<String> outputHeadPaths() {
            return Set.of("lm_head");
        }

        @Override
        protected NDList forwardInternal(ParameterStore s, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException("weights only");
        }
    }

    static final class Inner extends HfBlock {
        final HfModuleList<Layer> layers = module("layers", new HfModuleList<>());

        @Override
        protected NDList forwardInternal(ParameterStore s, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException("weights only");
        }
    }

    static final class Layer extends HfBlock {
        Layer(int hidden, int kv, int intermediate) {
            module("self_attn", new Projections(Map.of(
                    "q_proj", new int[] {hidden, hidden},
                    "k_proj", new int[] {hidden, kv},
                    "v_proj", new int[] {hidden, kv},
                    "o_proj", new int[] {hidden, hidden})));
            module("mlp", new Projections(Map.of(
                    "gate_proj", new int[] {hidden, intermediate},
                    "up_proj", new int[] {hidden, intermediate},
                    "down_proj", new int[] {intermediate, hidden})));
        }

        @Override
        protected NDList forwardInternal(ParameterStore s, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException("weights only");
        }
    }

    static final class Projections extends HfBlock {
        Projections(Map<String, int[]> sizes) {
            for (String name : new TreeSet<>(sizes.keySet())) {
                module(name, linear(sizes.get(name)[0], sizes.get(name)[1]));
            }
        }

        @Override
        protected NDList forwardInternal(ParameterStore s, NDList in, boolean t, PairList<String, Object> p) {
            throw new UnsupportedOperationException("weights only");
        }
    }

    private static LoraLinear linear(int in, int out) {
        return LoraLinear.builder().setInFeatures(in).setOutFeatures(out).build();
    }

    /** A model with llama-tiny's projection sizes, initialised on the test manager. */
    private TinyModel newModel() {
        TinyModel model = new TinyModel(64, 32, 176, 96, 2);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, 64));
        return model;
    }

    private static LoraConfig config() {
        return LoraConfig.builder().setR(3).setAlpha(6).optTargetModules("q_proj", "v_proj", "down_proj").build();
    }

    /** Injects adapters and fills B (zero after injection) with seeded non-zero values. */
    private TinyModel adaptedModel(LoraConfig config, long seed) {
        TinyModel model = newModel();
        LoraInjector.inject(model, config);
        SplittableRandom rng = new SplittableRandom(seed);
        for (LoraLinear layer : LoraInjector.adaptedLayers(model).values()) {
            Shape shape = layer.getLoraB().getArray().getShape();
            float[] values = new float[(int) shape.size()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) rng.nextGaussian();
            }
            try (NDArray b = manager.create(values, shape)) {
                Weights.assign(layer.getLoraB(), b);
            }
        }
        return model;
    }

    private Path savedAdapter() {
        return savedAdapterIn("adapter");
    }

    private Path savedAdapterIn(String name) {
        Path dir = tmp.resolve(name);
        PeftAdapter.save(adaptedModel(config(), 7), dir, "llama-tiny", "CAUSAL_LM");
        return dir;
    }

    @Test
    void aTrainingCheckpointGivenAsAdapterIsNamedWithItsAdapterDirectory(@TempDir Path tmp) throws IOException {
        Path checkpoint = tmp.resolve("step-000020");
        Files.createDirectories(checkpoint.resolve("adapter"));
        Files.writeString(checkpoint.resolve("adapter").resolve(PeftAdapter.CONFIG_NAME), "{}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> PeftAdapter.requireReadable(checkpoint));
        assertTrue(e.getMessage().contains("its adapter is " + checkpoint.resolve("adapter")), e.getMessage());
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.requireReadable(empty));
        assertTrue(e.getMessage().contains("does not exist: a PEFT adapter directory holds"), e.getMessage());
    }

    @Test
    void saveThenLoadRestoresEveryFactorExactly() {
        TinyModel source = adaptedModel(config(), 7);
        Path dir = tmp.resolve("out/adapter");
        PeftAdapter.save(source, dir, "llama-tiny", "CAUSAL_LM");
        TinyModel fresh = newModel();
        List<String> loaded = PeftAdapter.load(dir, fresh);
        Map<String, LoraLinear> expected = LoraInjector.adaptedLayers(source);
        Map<String, LoraLinear> actual = LoraInjector.adaptedLayers(fresh);
        assertEquals(new ArrayList<>(expected.keySet()), loaded);
        assertEquals(expected.keySet(), actual.keySet());
        assertEquals(6, loaded.size());
        for (String path : expected.keySet()) {
            LoraLinear a = expected.get(path);
            LoraLinear b = actual.get(path);
            assertArrayEquals(a.getLoraA().getArray().toFloatArray(), b.getLoraA().getArray().toFloatArray(), path);
            assertArrayEquals(a.getLoraB().getArray().toFloatArray(), b.getLoraB().getArray().toFloatArray(), path);
            assertEquals(a.getScaling(), b.getScaling(), path);
            assertTrue(b.getLoraA().getArray().hasGradient() && b.getLoraB().getArray().hasGradient(), path);
        }
    }

    @Test
    void configJsonHasPeftFields() throws IOException {
        Path dir = savedAdapter();
        JsonObject json = JsonParser.parseString(Files.readString(dir.resolve(PeftAdapter.CONFIG_NAME))).getAsJsonObject();
        JsonObject reference = JsonParser.parseString(Files.readString(
                Fixtures.hfTiny().resolve("llama-tiny-lora-adapter/adapter_config.json"))).getAsJsonObject();
        assertEquals(reference.keySet(), json.keySet());
        assertEquals("LORA", json.get("peft_type").getAsString());
        assertEquals("CAUSAL_LM", json.get("task_type").getAsString());
        assertEquals(3, json.get("r").getAsInt());
        assertEquals("6", json.get("lora_alpha").toString());
        assertEquals(0.0, json.get("lora_dropout").getAsDouble());
        // floats as written, not as the doubles nearest them (0.05000000074505806)
        TinyModel dropped = adaptedModel(LoraConfig.builder().setR(3).setAlpha(6.5f).optDropout(0.05f)
                .optTargetModules("q_proj").build(), 8);
        Path droppedDir = tmp.resolve("dropout");
        PeftAdapter.save(dropped, droppedDir, "llama-tiny", "CAUSAL_LM");
        String text = Files.readString(droppedDir.resolve(PeftAdapter.CONFIG_NAME));
        assertTrue(text.contains("\"lora_dropout\": 0.05,") && text.contains("\"lora_alpha\": 6.5,"), text);
        assertEquals("[\"down_proj\",\"q_proj\",\"v_proj\"]", json.get("target_modules").toString());
        assertFalse(json.get("use_rslora").getAsBoolean());
        assertEquals("none", json.get("bias").getAsString());
        assertEquals("llama-tiny", json.get("base_model_name_or_path").getAsString());
        assertFalse(json.get("fan_in_fan_out").getAsBoolean());
        assertTrue(json.get("init_lora_weights").getAsBoolean());
        assertTrue(json.get("inference_mode").getAsBoolean());
        assertTrue(json.get("modules_to_save").isJsonNull());
        assertEquals(PeftAdapter.PEFT_VERSION, json.get("peft_version").getAsString());
        assertFalse(json.get("use_dora").getAsBoolean());
        assertEquals(0, json.getAsJsonObject("rank_pattern").size());
    }

    @Test
    void weightsUsePeftKeysAndShapes() {
        Path dir = savedAdapter();
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(PeftAdapter.WEIGHTS_NAME))) {
            assertEquals("pt", file.metadata().get("format"));
            assertEquals(12, file.names().size());
            for (int layer = 0; layer < 2; layer++) {
                String p = "base_model.model.model.layers." + layer + ".";
                assertEquals(new Shape(3, 64), file.info(p + "self_attn.q_proj.lora_A.weight").shape());
                assertEquals(new Shape(64, 3), file.info(p + "self_attn.q_proj.lora_B.weight").shape());
                assertEquals(new Shape(32, 3), file.info(p + "self_attn.v_proj.lora_B.weight").shape());
                assertEquals(new Shape(3, 176), file.info(p + "mlp.down_proj.lora_A.weight").shape());
                assertEquals(new Shape(64, 3), file.info(p + "mlp.down_proj.lora_B.weight").shape());
            }
        }
    }

    @Test
    void targetsThatWouldOverMatchAreSavedAsAnExactRegex() throws IOException {
        LoraConfig onlyFirstLayer = LoraConfig.builder().setR(2).setAlpha(4)
                .optTargetRegex("model\\.layers\\.0\\.self_attn\\.q_proj").build();
        Path dir = tmp.resolve("regex");
        PeftAdapter.save(adaptedModel(onlyFirstLayer, 3), dir, "m", null);
        JsonObject json = JsonParser.parseString(Files.readString(dir.resolve(PeftAdapter.CONFIG_NAME))).getAsJsonObject();
        assertEquals("^(?:model\\.layers\\.0\\.self_attn\\.q_proj)$", json.get("target_modules").getAsString());
        assertTrue(json.get("task_type").isJsonNull());
        TinyModel fresh = newModel();
        assertEquals(List.of("model.layers.0.self_attn.q_proj"), PeftAdapter.load(dir, fresh));
    }

    @Test
    void readsTheReferencePeftConfig() {
        LoraConfig c = PeftAdapter.readConfig(Fixtures.bundledHfTiny().resolve("llama-tiny-lora-adapter"));
        assertEquals(4, c.getR());
        assertEquals(8f, c.getAlpha());
        assertEquals(0f, c.getDropout());
        assertFalse(c.isUseRsLora());
        assertEquals(2f, c.getScaling());
        assertEquals(Set.of("gate_proj", "q_proj", "k_proj", "down_proj", "up_proj", "o_proj", "v_proj"), c.getTargetModules());
    }

    @Test
    void loadsTheReferencePeftAdapter() {
        Path dir = Fixtures.bundledHfTiny().resolve("llama-tiny-lora-adapter");
        TinyModel model = newModel();
        List<String> adapted = PeftAdapter.load(dir, model);
        assertEquals(14, adapted.size());
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve(PeftAdapter.WEIGHTS_NAME))) {
            for (Map.Entry<String, LoraLinear> e : LoraInjector.adaptedLayers(model).entrySet()) {
                String key = "base_model.model." + e.getKey();
                assertArrayEquals(file.floats(key + ".lora_A.weight"), e.getValue().getLoraA().getArray().toFloatArray());
                assertArrayEquals(file.floats(key + ".lora_B.weight"), e.getValue().getLoraB().getArray().toFloatArray());
                assertEquals(2f, e.getValue().getScaling());
            }
        }
    }

    @Test
    void acceptsKeysWithTheAdapterName() {
        Path dir = savedAdapter();
        Map<String, float[]> before = new LinkedHashMap<>();
        rewriteWeights(dir, tensors -> {
            Map<String, Tensor> renamed = new LinkedHashMap<>();
            tensors.forEach((k, v) -> {
                before.put(k, v.values);
                renamed.put(k.replace(".lora_A.weight", ".lora_A.default.weight").replace(".lora_B.weight", ".lora_B.default.weight"), v);
            });
            tensors.clear();
            tensors.putAll(renamed);
        });
        TinyModel fresh = newModel();
        PeftAdapter.load(dir, fresh);
        for (Map.Entry<String, LoraLinear> e : LoraInjector.adaptedLayers(fresh).entrySet()) {
            assertArrayEquals(before.get("base_model.model." + e.getKey() + ".lora_B.weight"),
                    e.getValue().getLoraB().getArray().toFloatArray());
        }
    }

    private static final String Q0 = "base_model.model.model.layers.0.self_attn.q_proj";

    @Test
    void moduleMissingFromTheModel() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.put("base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight",
                new Tensor(new float[3 * 64], 3, 64)));
        assertLoadRefused(dir, "model.layers.9.self_attn.q_proj", "does not exist");
    }

    /**
     * An adapter of another model family (here: one whose config targets T5's modules) names its
     * config file and what it was saved for, not only the modules: it read like a --target-modules
     * mistake.
     */
    @Test
    void anAdapterOfAnotherFamilyNamesItsConfigAndWhatItWasSavedFor() throws IOException {
        Path dir = savedAdapter();
        Path configFile = dir.resolve(PeftAdapter.CONFIG_NAME);
        JsonObject json = JsonParser.parseString(Files.readString(configFile)).getAsJsonObject();
        JsonArray t5 = new JsonArray();
        t5.add("wi");
        t5.add("wo");
        json.add("target_modules", t5);
        json.addProperty("base_model_name_or_path", "t5-tiny");
        json.addProperty("task_type", "SEQ_2_SEQ_LM");
        Files.writeString(configFile, json.toString());
        assertLoadRefused(dir, configFile + ": LoRA target module(s) [wi, wo] match no linear layer of the model"
                + " (saved for base model t5-tiny, task_type SEQ_2_SEQ_LM: an adapter of another model?)");
    }

    @Test
    void moduleNotAdaptedByTheConfig() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.put("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                new Tensor(new float[3 * 64], 3, 64)));
        assertLoadRefused(dir, "model.layers.0.self_attn.k_proj", "not adapted");
    }

    @Test
    void missingKeyOfAnAdaptedModule() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.remove(Q0 + ".lora_B.weight"));
        assertLoadRefused(dir, Q0 + ".lora_B.weight", "missing");
    }

    @Test
    void unexpectedKeys() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.put(Q0 + ".lora_magnitude_vector", new Tensor(new float[64], 64)));
        assertLoadRefused(dir, Q0 + ".lora_magnitude_vector", "unexpected");
        Path dir2 = tmp.resolve("adapter2");
        PeftAdapter.save(adaptedModel(config(), 7), dir2, "llama-tiny", "CAUSAL_LM");
        rewriteWeights(dir2, t -> t.put("model.layers.0.self_attn.q_proj.lora_A.weight", new Tensor(new float[3 * 64], 3, 64)));
        assertLoadRefused(dir2, "model.layers.0.self_attn.q_proj.lora_A.weight", "unexpected");
        Path dir3 = tmp.resolve("adapter3");
        PeftAdapter.save(adaptedModel(config(), 7), dir3, "llama-tiny", "CAUSAL_LM");
        rewriteWeights(dir3, t -> t.put(Q0 + ".lora_A.other.weight", new Tensor(new float[3 * 64], 3, 64)));
        assertLoadRefused(dir3, Q0 + ".lora_A.other.weight", "both lora_A");
    }

    @Test
    void shapeMismatch() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.put(Q0 + ".lora_A.weight", new Tensor(new float[3 * 65], 3, 65)));
        assertLoadRefused(dir, Q0 + ".lora_A.weight", "[3, 65]");
    }

    @Test
    void rankDifferentFromTheConfig() throws IOException {
        Path dir = savedAdapter();
        editConfig(dir, o -> o.addProperty("r", 2));
        assertLoadRefused(dir, "lora_A.weight", "rank 3", "r=2");
    }

    @Test
    void aRefusedFileLeavesExistingAdaptersUntouched() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.remove(Q0 + ".lora_B.weight"));
        TinyModel model = adaptedModel(config(), 99);
        Map<String, float[]> before = new LinkedHashMap<>();
        LoraInjector.adaptedLayers(model).forEach((path, layer) -> {
            before.put(path + "A", layer.getLoraA().getArray().toFloatArray());
            before.put(path + "B", layer.getLoraB().getArray().toFloatArray());
        });
        assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, model));
        LoraInjector.adaptedLayers(model).forEach((path, layer) -> {
            assertArrayEquals(before.get(path + "A"), layer.getLoraA().getArray().toFloatArray(), path);
            assertArrayEquals(before.get(path + "B"), layer.getLoraB().getArray().toFloatArray(), path);
        });
    }

    @Test
    void aRefusedFileLeavesAModelWithoutAdaptersWithoutAdapters() {
        Path dir = savedAdapter();
        rewriteWeights(dir, t -> t.remove(Q0 + ".lora_B.weight"));
        TinyModel model = newModel();
        assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, model));
        assertTrue(LoraInjector.adaptedLayers(model).isEmpty(), "the refused adapter's layers were injected");
        // and the right adapter still loads into it
        assertEquals(6, PeftAdapter.load(savedAdapterIn("good"), model).size());
    }

    @Test
    void anAdapterScaledOtherwiseThanTheModelsAdaptersIsRefused() throws IOException {
        Path dir = savedAdapter();
        editConfig(dir, o -> o.addProperty("lora_alpha", 12));
        TinyModel model = adaptedModel(config(), 99);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, model));
        assertTrue(e.getMessage().contains("lora_alpha = 12.0") && e.getMessage().contains("lora_alpha = 6.0"),
                e.getMessage());
        assertTrue(e.getMessage().contains(PeftAdapter.CONFIG_NAME), e.getMessage());
        editConfig(dir, o -> {
            o.addProperty("lora_alpha", 6);
            o.addProperty("use_rslora", true);
        });
        e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, model));
        assertTrue(e.getMessage().contains("use_rslora = true"), e.getMessage());
        editConfig(dir, o -> o.addProperty("use_rslora", false));
        assertEquals(6, PeftAdapter.load(dir, model).size());
    }

    @Test
    void unsupportedSettingsAreNamed() throws IOException {
        Object[][] cases = {
            {"use_dora", true},
            {"fan_in_fan_out", true},
            {"bias", "all"},
            {"rank_pattern", "{\"q_proj\": 8}"},
            {"alpha_pattern", "{\"q_proj\": 16}"},
            {"init_lora_weights", "pissa"},
            {"peft_type", "IA3"},
            {"alora_invocation_tokens", "[12, 34]"},
            {"arrow_config", "{\"top_k\": 3}"},
        };
        for (Object[] c : cases) {
            Path dir = savedAdapter();
            editConfig(dir, o -> {
                Object v = c[1];
                if (v instanceof Boolean) {
                    o.addProperty((String) c[0], (Boolean) v);
                } else if (((String) v).startsWith("{") || ((String) v).startsWith("[")) {
                    o.add((String) c[0], JsonParser.parseString((String) v));
                } else {
                    o.addProperty((String) c[0], (String) v);
                }
            });
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> PeftAdapter.readConfig(dir));
            assertTrue(e.getMessage().contains("'" + c[0] + "'"), e.getMessage());
            assertTrue(e.getMessage().contains(PeftAdapter.CONFIG_NAME), e.getMessage());
            assertThrows(InvalidInputException.class, () -> PeftAdapter.load(dir, newModel()));
            deleteTree(dir);
        }
        // orthogonal and EVA initialisation leave the base weights alone: their adapters are plain LoRA
        for (String init : List.of("orthogonal", "eva")) {
            Path dir = savedAdapter();
            editConfig(dir, o -> o.addProperty("init_lora_weights", init));
            assertEquals(6, PeftAdapter.load(dir, newModel()).size(), init);
            deleteTree(dir);
        }
    }

    @Test
    void modulesToSaveMustNameModulesOfTheModelAndBeInTheFile() throws IOException {
        Path dir = savedAdapter();
        editConfig(dir, o -> o.add("modules_to_save", JsonParser.parseString("[\"no_such_head\"]")));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> PeftAdapter.load(dir, newModel()));
        assertTrue(e.getMessage().contains("modules_to_save names 'no_such_head'"), e.getMessage());
        editConfig(dir, o -> o.add("modules_to_save", JsonParser.parseString("[\"lm_head\"]")));
        e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, newModel()));
        assertTrue(e.getMessage().contains("missing key 'base_model.model.lm_head.weight'"), e.getMessage());
    }

    @Test
    void anUninitialisedModelIsRefusedBeforeAnythingIsRead() {
        Path dir = savedAdapter();
        TinyModel bare = new TinyModel(64, 32, 176, 96, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PeftAdapter.load(dir, bare));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj"), e.getMessage());
    }

    @Test
    void malformedConfigIsAFormatError() throws IOException {
        Path dir = savedAdapter();
        editConfig(dir, o -> o.addProperty("r", "four"));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.readConfig(dir));
        assertTrue(e.getMessage().contains("'r'"), e.getMessage());
        Files.writeString(dir.resolve(PeftAdapter.CONFIG_NAME), "{\"r\": 4,");
        e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.readConfig(dir));
        assertEquals(-1, e.getMessage().indexOf('\n'), e.getMessage());
        Files.delete(dir.resolve(PeftAdapter.CONFIG_NAME));
        e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.readConfig(dir));
        assertTrue(e.getMessage().contains(PeftAdapter.CONFIG_NAME), e.getMessage());
    }

    @Test
    void regexAndAllLinearTargetsAreRead() throws IOException {
        Path dir = savedAdapter();
        editConfig(dir, o -> o.addProperty("target_modules", ".*\\.(q|v)_proj"));
        LoraConfig c = PeftAdapter.readConfig(dir);
        assertNotEquals(null, c.getTargetRegex());
        assertTrue(c.matches("model.layers.0.self_attn.q_proj", false));
        assertFalse(c.matches("model.layers.0.self_attn.k_proj", false));
        editConfig(dir, o -> o.addProperty("target_modules", "all-linear"));
        assertTrue(PeftAdapter.readConfig(dir).isAllLinear());
    }

    private void assertLoadRefused(Path dir, String... mustMention) {
        TinyModel fresh = newModel();
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> PeftAdapter.load(dir, fresh));
        for (String s : mustMention) {
            assertTrue(e.getMessage().contains(s), "'" + s + "' not in: " + e.getMessage());
        }
        assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    }

    /** A host tensor for rewriting adapter files. */
    private static final class Tensor {
        final float[] values;
        final long[] shape;

        Tensor(float[] values, long... shape) {
            this.values = values;
            this.shape = shape;
        }
    }

    private static void rewriteWeights(Path dir, Consumer<Map<String, Tensor>> edit) {
        Path file = dir.resolve(PeftAdapter.WEIGHTS_NAME);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            for (String name : f.names()) {
                tensors.put(name, new Tensor(f.floats(name), f.info(name).shape().getShape()));
            }
        }
        edit.accept(tensors);
        SafetensorsWriter w = new SafetensorsWriter();
        tensors.forEach((k, v) -> w.add(k, v.values, v.shape));
        w.write(file);
    }

    private static void editConfig(Path dir, Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve(PeftAdapter.CONFIG_NAME);
        JsonObject o = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(o);
        Files.writeString(file, o.toString());
    }

    private static void deleteTree(Path dir) throws IOException {
        AtomicFiles.deleteRecursively(dir);
    }
}
