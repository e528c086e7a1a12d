package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.RandomUtils;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Scalars;
import ai.lorapro.tasks.Seq2SeqLmTask;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Layer recomputation with float16 base weights: the same loss and gradients as one recorded pass
 * (Llama's decoder layers, CLIP's vision encoder layers, T5's encoder and decoder blocks), and no widened weight copy left behind
 * in the model's manager.
 */
class LayerRecomputeTest {

    private static final int VOCAB = 24;
    private static int threads;

    @BeforeAll
    static void oneThread() {
        threads = TinyModels.singleThread();
    }

    @AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    /** Llama adapted in every linear layer, or in q_proj and v_proj only (adapted and frozen products mix). */
    @ParameterizedTest
    @ValueSource(strings = {"all-linear", "q_proj v_proj"})
    void recomputedGradientsEqualOneRecordedPass(String targets) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = fp16Model(manager, 0f, targets.split(" "));
            CausalLmTask task = new CausalLmTask(model);
            Batch batch = Batch.collate(TinyModels.copyPlusOne(3, VOCAB, 5), 0);
            double recordedLoss = pass(task, manager, batch, false);
            Map<String, float[]> recorded = gradients(model);
            double recomputedLoss = pass(task, manager, batch, true);
            Map<String, float[]> recomputed = gradients(model);

            assertEquals(recordedLoss, recomputedLoss, 1e-5 * Math.abs(recordedLoss));
            assertGradientsAgree(recorded, recomputed);
        }
    }

    @Test
    void clipVisionLayersRecomputeToTheGradientsOfOneRecordedPassAndInferLayerByLayer() {
        Path dir = Fixtures.hfTiny().resolve("clip-tiny");
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            ClipModel clip = (ClipModel) ModelFamilies.readModelDir(dir).load(dir, manager, DataType.FLOAT16);
            NDArray ids = ref.load(manager, "input_ids");
            List<long[]> prompts = new ArrayList<>();
            for (int i = 0; i < ids.getShape().get(0); i++) {
                prompts.add(ids.get(i).toLongArray());
            }
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip, prompts, manager);
            LoraInjector.inject(classifier, ClipImageClassifier.loraConfig(4, 8));
            randomB(classifier, manager);
            NDArray pixels = ref.load(manager, "pixel_values");
            NDArray labels = ref.load(manager, "ce_labels");
            ParameterStore store = new ParameterStore(manager, false);
            double recordedLoss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray sum = CrossEntropy.sumAndCount(classifier.forward(store, pixels, true), labels)[0];
                collector.backward(Scalars.mul(sum, 0.5));
                recordedLoss = sum.getFloat();
            }
            Map<String, float[]> recorded = gradients(classifier);
            double recomputedLoss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                recomputedLoss = LayerRecompute.run(classifier.layeredPass(store, pixels, true),
                        logits -> CrossEntropy.sumAndCount(logits, labels), 0.5, collector);
            }
            Map<String, float[]> recomputed = gradients(classifier);

            assertEquals(recordedLoss, recomputedLoss, 1e-5 * Math.abs(recordedLoss));
            assertTrue(recorded.keySet().stream().anyMatch(k -> k.startsWith("head.")), recorded.keySet().toString());
            assertGradientsAgree(recorded, recomputed);

            // inference one layer at a time (what evaluation runs) gives the logits of one pass, and
            // frees each layer's arrays (getManagedArrays counts the step manager's too)
            try (NDManager step = manager.newSubManager()) {
                ParameterStore inference = new ParameterStore(step, false);
                int start = manager.getManagedArrays().size();
                float[] whole = classifier.forward(inference, pixels, false).toFloatArray();
                int afterWhole = manager.getManagedArrays().size();
                float[] layered = classifier.layeredPass(inference, pixels, false).inferLayerByLayer().toFloatArray();
                int keptByLayered = manager.getManagedArrays().size() - afterWhole;
                assertTrue(keptByLayered < (afterWhole - start) / 2, "arrays kept: " + keptByLayered
                        + " layer by layer against " + (afterWhole - start) + " by one pass");
                for (int i = 0; i < whole.length; i++) {
                    assertEquals(whole[i], layered[i], 1e-5 + 1e-5 * Math.abs(whole[i]), "logit " + i);
                }
            }
        }
    }

    /**
     * T5's encoder and decoder blocks, adapted everywhere (all-linear), only in q and v (PEFT's
     * usual choice, which mixes adapted and frozen products in every block), or only in the
     * decoder's cross-attention (nothing to train in the encoder, whose states stay unadapted).
     */
    @ParameterizedTest
    @CsvSource({"t5-tiny, all-linear", "t5-tiny-gated, all-linear", "t5-tiny, q v",
        "t5-tiny, EncDecAttention.q EncDecAttention.v"})
    void t5BlocksRecomputeToTheGradientsOfOneRecordedPass(String fixture, String targets) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            T5ForConditionalGeneration model = t5(fixture, manager, DataType.FLOAT16);
            LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8)
                    .optTargetModules(List.of(targets.split(" "))).build());
            randomB(model, manager);
            Seq2SeqLmTask task = new Seq2SeqLmTask(model);
            Batch batch = t5Batch();
            double recordedLoss = pass(task, manager, batch, false);
            Map<String, float[]> recorded = gradients(model);
            double recomputedLoss = pass(task, manager, batch, true);
            Map<String, float[]> recomputed = gradients(model);

            assertEquals(recordedLoss, recomputedLoss, 1e-5 * Math.abs(recordedLoss));
            // the first adapted encoder block gets its gradient only through the decoder's cross-attention
            if (!targets.startsWith("EncDecAttention")) {
                assertTrue(largest(recorded, "encoder.block.0.") > 1e-3, recorded.keySet().toString());
            }
            assertTrue(largest(recorded, "decoder.block.1.layer.1.EncDecAttention.") > 1e-3, recorded.keySet().toString());
            assertGradientsAgree(recorded, recomputed);

            // the layered pass, run straight through, gives decode's logits to the bit
            try (NDManager step = manager.newSubManager()) {
                ParameterStore store = new ParameterStore(step, false);
                NDArray ids = step.create(new long[] {5, 9, 14, 3, 1, 11, 2, 1, 0, 0}, new Shape(2, 5));
                NDArray mask = step.create(new long[] {1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, new Shape(2, 5));
                NDArray decoderIds = step.create(new long[] {0, 7, 22, 0, 40, 0}, new Shape(2, 3));
                float[] decoded = model.decode(store, decoderIds, model.encode(store, ids, mask, false), mask, null,
                        false).toFloatArray();
                float[] layered = model.layeredPass(store, ids, mask, decoderIds, false).inferLayerByLayer().toFloatArray();
                assertArrayEquals(decoded, layered);
            }
        }
    }

    /**
     * The backward pass recomputes only down to the lowest layer that trains: with adapters on T5's
     * cross-attention only, no encoder block (nor the step between the stacks) runs a second time;
     * with adapters on Llama's second layer only, the first runs once.
     */
    @Test
    void theBackwardPassStopsAtTheLowestLayerThatTrains() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            T5ForConditionalGeneration t5 = t5("t5-tiny", manager, DataType.FLOAT16);
            LoraInjector.inject(t5, LoraConfig.builder().setR(4).setAlpha(8)
                    .optTargetModules(List.of("EncDecAttention.q", "EncDecAttention.v")).build());
            int encoderBlocks = t5.getConfig().numLayers();
            int[] t5Calls = countLayerRuns(new Seq2SeqLmTask(t5), manager, t5Batch());
            assertEquals(encoderBlocks + 1 + t5.getConfig().numDecoderLayers(), t5Calls.length);
            for (int i = 0; i < t5Calls.length; i++) {
                assertEquals(i <= encoderBlocks ? 1 : 2, t5Calls[i], "runs of step " + i);
            }

            LlamaForCausalLM llama = new LlamaForCausalLM(TinyModels.config(VOCAB));
            RandomWeights.initialize(llama, manager, DataType.FLOAT16, 7, 0.2f);
            LoraInjector.inject(llama, LoraConfig.builder().setR(4).setAlpha(8)
                    .optTargetRegex("model\\.layers\\.1\\.self_attn\\.(q|v)_proj").build());
            int[] llamaCalls = countLayerRuns(new CausalLmTask(llama), manager,
                    Batch.collate(TinyModels.copyPlusOne(3, VOCAB, 5), 0));
            assertArrayEquals(new int[] {1, 2}, llamaCalls);
        }
    }

    /** How often {@link LayerRecompute} runs each layer of one training micro-batch of {@code task}. */
    private static int[] countLayerRuns(TrainTask task, NDManager manager, Batch batch) {
        ParameterStore store = new ParameterStore(manager, false);
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            TrainTask.LayeredLoss loss = task.layeredLoss(store, step, batch);
            LayeredPass pass = loss.pass();
            int[] calls = new int[pass.layerCount()];
            LayeredPass counting = new LayeredPass() {
                @Override
                public NDArray input() {
                    return pass.input();
                }

                @Override
                public int layerCount() {
                    return pass.layerCount();
                }

                @Override
                public NDArray layer(int index, NDArray hidden) {
                    calls[index]++;
                    return pass.layer(index, hidden);
                }

                @Override
                public NDArray head(NDArray hidden) {
                    return pass.head(hidden);
                }

                @Override
                public int firstTrainableLayer() {
                    return pass.firstTrainableLayer();
                }
            };
            LayerRecompute.run(counting, loss.loss(), 0.5, collector);
            return calls;
        }
    }

    /**
     * A layered training pass reads the embeddings once, outside the recomputed layers: it refuses
     * trainable ones. A layered inference pass accepts them.
     */
    @Test
    void layeredTrainingPassesRefuseTrainableEmbeddings() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            T5ForConditionalGeneration t5 = t5("t5-tiny", manager, DataType.FLOAT32);
            t5.getShared().setTrainable(true);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray ids = manager.create(new long[] {5, 9, 1}, new Shape(1, 3));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> t5.layeredPass(store, ids, null, ids, true));
            assertTrue(e.getMessage().contains("frozen embedding"), e.getMessage());

            LlamaForCausalLM llama = fp16Model(manager, 0f);
            llama.getModel().getEmbedTokens().setTrainable(true);
            IllegalStateException l = assertThrows(IllegalStateException.class,
                    () -> llama.layeredPass(store, ids, null, true));
            assertTrue(l.getMessage().contains("frozen embedding"), l.getMessage());

            Path clipDir = Fixtures.hfTiny().resolve("clip-tiny");
            ClipModel clip = (ClipModel) ModelFamilies.readModelDir(clipDir).load(clipDir, manager, DataType.FLOAT32);
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip,
                    List.of(new long[] {1, 5, 2}, new long[] {1, 6, 2}), manager);
            ModuleTree.namedParameters(classifier).get("vision_model.embeddings.class_embedding").freeze(false);
            NDArray pixels = manager.zeros(new Shape(1, 3, clip.getConfig().vision().imageSize(),
                    clip.getConfig().vision().imageSize()));
            IllegalStateException c = assertThrows(IllegalStateException.class,
                    () -> classifier.layeredPass(store, pixels, true));
            assertTrue(c.getMessage().contains("embeddings.class_embedding trains"), c.getMessage());
            // inference (what image-folder evaluation runs after full fine-tuning) has no gradient to lose
            assertEquals(2, classifier.layeredPass(store, pixels, false).inferLayerByLayer().getShape().get(1));
            assertEquals(t5.getConfig().vocabSize(), t5.layeredPass(store, ids, null, ids, false).inferLayerByLayer()
                    .getShape().get(2));
        }
    }

    /** The largest gradient magnitude among the parameters whose names start with {@code prefix}. */
    private static double largest(Map<String, float[]> gradients, String prefix) {
        double largest = 0;
        for (Map.Entry<String, float[]> e : gradients.entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                for (float g : e.getValue()) {
                    largest = Math.max(largest, Math.abs(g));
                }
            }
        }
        return largest;
    }

    /** A T5 fixture of the hf-tiny set, its base weights in {@code type}. */
    private static T5ForConditionalGeneration t5(String fixture, NDManager manager, DataType type) {
        Path dir = Fixtures.hfTiny().resolve(fixture);
        return (T5ForConditionalGeneration) ModelFamilies.readModelDir(dir).load(dir, manager, type);
    }

    /** Two T5 examples whose sources and targets have different lengths, so that both are padded and S != T. */
    private static Batch t5Batch() {
        return Batch.collate(List.of(
                new Example(new long[] {5, 9, 14, 3, 1, 7, 22, 1}, labels(8, 5, new long[] {7, 22, 1})),
                new Example(new long[] {11, 2, 1, 40, 1}, labels(5, 3, new long[] {40, 1}))), 0);
    }

    /** Labels of an example of {@code length} tokens whose first {@code source} are the source. */
    private static long[] labels(int length, int source, long[] target) {
        long[] labels = new long[length];
        java.util.Arrays.fill(labels, 0, source, Example.IGNORE_INDEX);
        System.arraycopy(target, 0, labels, source, target.length);
        return labels;
    }

    @Test
    void dropoutMasksAreTheSameInBothRunsOfALayer() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = fp16Model(manager, 0.5f);
            assertDropoutReplayed(new CausalLmTask(model), model, manager,
                    Batch.collate(TinyModels.copyPlusOne(3, VOCAB, 5), 0));
        }
    }

    /** Llama's {@code attention_dropout} alone (no LoRA dropout): its masks too are replayed. */
    @Test
    void attentionDropoutMasksAreTheSameInBothRunsOfALayer() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = fp16Model(manager, TinyModels.config(VOCAB, 0.3), 0f);
            assertDropoutReplayed(new CausalLmTask(model), model, manager,
                    Batch.collate(TinyModels.copyPlusOne(3, VOCAB, 5), 0));
        }
    }

    /**
     * T5's own dropout ({@code dropout_rate}: embedded tokens, sub-layer outputs, attention
     * probabilities, feed-forward activations, final outputs) draws the same masks in both runs of
     * a block.
     */
    @Test
    void t5DropoutMasksAreTheSameInBothRunsOfABlock(@TempDir Path tmp) throws IOException {
        Path dir = tmp.resolve("t5-tiny-dropout");
        Path fixture = Fixtures.hfTiny().resolve("t5-tiny");
        Files.createDirectories(dir);
        for (String file : List.of("model.safetensors", "config.json")) {
            Files.copy(fixture.resolve(file), dir.resolve(file));
        }
        JsonObject config = JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
        config.addProperty("dropout_rate", 0.3);
        Files.writeString(dir.resolve("config.json"), config.toString());
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            T5ForConditionalGeneration model =
                    (T5ForConditionalGeneration) ModelFamilies.readModelDir(dir).load(dir, manager, DataType.FLOAT16);
            assertEquals(0.3f, model.getConfig().dropoutRate());
            LoraInjector.inject(model, LoraConfig.builder().setR(4).setAlpha(8).build());
            randomB(model, manager);
            assertDropoutReplayed(new Seq2SeqLmTask(model), model, manager, t5Batch());
        }
    }

    /**
     * Compares one recorded pass that draws each layer's masks as {@link LayerRecompute} documents it
     * does (a seed from DJL's generator, then seed + i before layer i) with the recomputation, and
     * checks that the masks matter: another seed gives other gradients.
     */
    private static void assertDropoutReplayed(TrainTask task, Block model, NDManager manager, Batch batch) {
        Engine.getInstance().setRandomSeed(11);
        ParameterStore store = new ParameterStore(manager, false);
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            TrainTask.LayeredLoss loss = task.layeredLoss(store, step, batch);
            int seed = RandomUtils.nextInt();
            LayeredPass layered = loss.pass();
            NDArray hidden = layered.input();
            for (int i = 0; i < layered.layerCount(); i++) {
                Engine.getInstance().setRandomSeed(seed + i);
                hidden = layered.layer(i, hidden);
            }
            NDArray[] parts = loss.loss().apply(layered.head(hidden));
            collector.backward(Scalars.mul(parts[0], 0.5));
        }
        Map<String, float[]> recorded = gradients(model);
        Engine.getInstance().setRandomSeed(11);
        pass(task, manager, batch, true);
        Map<String, float[]> recomputed = gradients(model);
        assertGradientsAgree(recorded, recomputed);

        Engine.getInstance().setRandomSeed(12);
        pass(task, manager, batch, true);
        Map<String, float[]> otherMasks = gradients(model);
        double largestChange = 0;
        for (Map.Entry<String, float[]> e : recomputed.entrySet()) {
            float[] other = otherMasks.get(e.getKey());
            for (int i = 0; i < other.length; i++) {
                largestChange = Math.max(largestChange, Math.abs(other[i] - e.getValue()[i]));
            }
        }
        assertTrue(largestChange > 1e-3, "another seed changed the gradients by only " + largestChange);
    }

    @Test
    void widenedWeightsDoNotStayInTheModelsManager() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = fp16Model(manager, 0f);
            CausalLmTask task = new CausalLmTask(model);
            Batch batch = Batch.collate(TinyModels.copyPlusOne(3, VOCAB, 5), 0);
            pass(task, manager, batch, false);
            gradients(model);
            int before = manager.getManagedArrays().size();
            pass(task, manager, batch, false);
            pass(task, manager, batch, true);
            gradients(model);
            assertEquals(before, manager.getManagedArrays().size(), "arrays left in the model's manager");
        }
    }

    /** A two-layer Llama with float16 base weights and adapters whose B is not zero. */
    private static LlamaForCausalLM fp16Model(NDManager manager, float dropout, String... targets) {
        return fp16Model(manager, TinyModels.config(VOCAB), dropout, targets);
    }

    /** {@link #fp16Model(NDManager, float, String...)} of another configuration. */
    private static LlamaForCausalLM fp16Model(NDManager manager, LlamaConfig llama, float dropout, String... targets) {
        LlamaForCausalLM model = new LlamaForCausalLM(llama);
        RandomWeights.initialize(model, manager, DataType.FLOAT16, 7, 0.2f);
        LoraConfig.Builder config = LoraConfig.builder().setR(4).setAlpha(8).optDropout(dropout);
        LoraInjector.inject(model, (targets.length == 0 ? config : config.optTargetModules(targets)).build());
        randomB(model, manager);
        return model;
    }

    /** Gives every adapter a random B, so that gradients flow through the adapters into A too. */
    private static void randomB(ai.djl.nn.Block model, NDManager manager) {
        for (LoraLinear layer : LoraInjector.adaptedLayers(model).values()) {
            NDArray b = layer.getLoraB().getArray();
            try (NDArray random = manager.randomNormal(0f, 0.1f, b.getShape(), DataType.FLOAT32)) {
                b.set(new ai.djl.ndarray.index.NDIndex("..."), random);
            }
        }
    }

    /** Forward and backward of {@code batch} in a step manager; returns the summed loss. */
    private static double pass(TrainTask task, NDManager manager, Batch batch, boolean recompute) {
        ParameterStore store = new ParameterStore(manager, false);
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            return task.backward(store, step, batch, 0.5, collector, recompute);
        }
    }

    /** The same parameters, each gradient within 1e-5 + 1e-4 relative, and not all of them tiny. */
    private static void assertGradientsAgree(Map<String, float[]> recorded, Map<String, float[]> recomputed) {
        assertEquals(recorded.keySet(), recomputed.keySet());
        double largest = 0;
        for (Map.Entry<String, float[]> e : recorded.entrySet()) {
            float[] want = e.getValue();
            float[] got = recomputed.get(e.getKey());
            for (int i = 0; i < want.length; i++) {
                largest = Math.max(largest, Math.abs(want[i]));
                assertEquals(want[i], got[i], 1e-5 + 1e-4 * Math.abs(want[i]), e.getKey() + "[" + i + "]");
            }
        }
        assertTrue(largest > 1e-3, "the gradients are too small to compare: " + largest);
    }

    /** Copies of the trainable parameters' gradients by name, which are then zeroed. */
    private static Map<String, float[]> gradients(ai.djl.nn.Block model) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : MethodSetup.trainableParameters(model).entrySet()) {
            NDArray weight = e.getValue().getArray();
            try (NDArray g = weight.getGradient()) {
                out.put(e.getKey(), g.toFloatArray());
                g.subi(g);
            }
        }
        return out;
    }
}
