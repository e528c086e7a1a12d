package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.optim.OptimizerState;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/** The training engine: determinism, exact resume, scoped memory, skipped non-finite steps. */
class TrainingEngineTest {

    private static int threads;

    @org.junit.jupiter.api.BeforeAll
    static void oneThread() {
        threads = TinyModels.singleThread();
    }

    @org.junit.jupiter.api.AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }

    private static final int VOCAB = 24;
    private final List<Example> train = TinyModels.copyPlusOne(48, VOCAB, 1);
    private final List<Example> eval = TinyModels.copyPlusOne(8, VOCAB, 2);

    @TempDir
    Path tmp;

    /** How lora-pro stores its full-mode moments in this test's runs. */
    private ai.lorapro.optim.StateDType stateDType = ai.lorapro.optim.StateDType.FP32;

    private TrainConfig config(Method method, Path out, int steps) {
        return TrainConfig.builder()
                .optStateDType(stateDType)
                .optMethod(method)
                .optR(4)
                .optAlpha(8)
                .optLr(method == Method.LORA_PRO_SGD ? 0.05f : 0.01f)
                .optMaxSteps(steps)
                .optGlobalBatch(8)
                .optMicroBatch(4)
                .optWarmupRatio(0.2)
                .optWeightDecay(0.01f)
                .optDevice(DeviceChoice.CPU)
                .optLogInterval(100)
                .setOutputDir(out)
                .build();
    }

    /** An engine of {@code model} on the training examples with {@link #config}; the caller adds the rest. */
    private TrainingEngine.Builder engine(NDManager manager, LlamaForCausalLM model, Method method, String out,
            int steps) {
        return TrainingEngine.builder()
                .setTask(new CausalLmTask(model))
                .setConfig(config(method, tmp.resolve(out), steps))
                .setManager(manager)
                .setTrainExamples(train);
    }

    /** The trained values and optimizer state of one run, keyed by name. */
    private record Snapshot(Map<String, float[]> weights, Map<String, float[]> state, Map<String, Integer> steps,
            TrainResult result) {}

    private Snapshot train(Method method, Path out, int steps, int stopAt, Path resume) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(config(method, out, steps))
                    .setManager(manager)
                    .setTrainExamples(train)
                    .optEvalExamples(eval)
                    .optPadId(0)
                    .optResumeFrom(resume)
                    .build()) {
                TrainResult result = engine.runUntil(stopAt);
                return snapshot(engine, manager, result);
            }
        }
    }

    private static Snapshot snapshot(TrainingEngine engine, NDManager manager, TrainResult result) {
        Map<String, float[]> weights = new TreeMap<>();
        for (Map.Entry<String, Parameter> e : engine.getTrainableParameters().entrySet()) {
            weights.put(e.getKey(), e.getValue().getArray().toFloatArray());
        }
        Map<String, float[]> state = new TreeMap<>();
        Map<String, Integer> steps;
        try (NDManager temp = manager.newSubManager()) {
            OptimizerState s = engine.getOptimizer().exportState(temp);
            s.getTensors().forEach((k, v) -> state.put(k, v.toFloatArray()));
            steps = new TreeMap<>(s.getSteps());
        }
        return new Snapshot(weights, state, steps, result);
    }

    private static void assertSame(Snapshot expected, Snapshot actual) {
        assertEquals(expected.weights().keySet(), actual.weights().keySet());
        expected.weights().forEach((k, v) -> assertArrayEquals(v, actual.weights().get(k), k));
        assertEquals(expected.state().keySet(), actual.state().keySet());
        expected.state().forEach((k, v) -> assertArrayEquals(v, actual.state().get(k), k));
        assertEquals(expected.steps(), actual.steps());
    }

    @Test
    void sameSeedGivesBitIdenticalRuns() throws IOException {
        Snapshot a = train(Method.LORA_PRO, tmp.resolve("a"), 4, 4, null);
        Snapshot b = train(Method.LORA_PRO, tmp.resolve("b"), 4, 4, null);
        assertSame(a, b);
        assertTrue(Files.isRegularFile(a.result().checkpoint().resolve("adapter/adapter_model.safetensors")));
        assertTrue(Files.isRegularFile(a.result().checkpoint().resolve(TrainerState.FILE_NAME)));
        assertStepTimes(tmp.resolve("a").resolve(TrainingEngine.METRICS_FILE), 4);
        // each line's epoch counts its own step's examples: 8 of 48 a step
        MetricsLog.Series epochs = MetricsLog.read(tmp.resolve("a").resolve(TrainingEngine.METRICS_FILE), "epoch");
        assertArrayEquals(new double[] {8.0 / 48, 16.0 / 48, 24.0 / 48, 32.0 / 48}, epochs.values(), 1e-12);
    }

    /**
     * Each of the {@code steps} training lines has a step_s of which optimizer_s is a positive part,
     * and tokens_per_s is a whole number of tokens over step_s.
     */
    private static void assertStepTimes(Path metrics, int steps) {
        List<JsonObject> lines = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(metrics)) {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                if (o.has("tokens_per_s")) {
                    lines.add(o);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        assertEquals(steps, lines.size());
        for (JsonObject line : lines) {
            double step = line.get("step_s").getAsDouble();
            double optimizer = line.get("optimizer_s").getAsDouble();
            assertTrue(optimizer > 0 && optimizer < step, line.toString());
            double tokens = line.get("tokens_per_s").getAsDouble() * step;
            assertTrue(tokens > 1 && Math.abs(tokens - Math.rint(tokens)) < 1e-6 * tokens, line.toString());
        }
    }

    @ParameterizedTest
    @EnumSource(Method.class)
    void resumedRunEqualsUninterruptedRunBitForBit(Method method) {
        Snapshot whole = train(method, tmp.resolve("whole"), 6, 6, null);
        Snapshot first = train(method, tmp.resolve("split"), 6, 3, null);
        assertEquals(3, first.result().globalStep());
        Path checkpoint = TrainingEngine.checkpointDir(tmp.resolve("split"), 3);
        assertEquals(checkpoint, first.result().checkpoint());
        Snapshot resumed = train(method, tmp.resolve("split"), 6, 6, checkpoint);
        assertEquals(6, resumed.result().globalStep());
        assertSame(whole, resumed);
        assertEquals(whole.result().finalLoss(), resumed.result().finalLoss());
        assertTrue(whole.result().losses()[5] < whole.result().losses()[0],
                method + " loss did not decrease: " + java.util.Arrays.toString(whole.result().losses()));
    }

    @Test
    void bf16MomentsResumeFromACheckpointBitForBit() {
        stateDType = ai.lorapro.optim.StateDType.BF16;
        Snapshot whole = train(Method.LORA_PRO, tmp.resolve("whole"), 6, 6, null);
        train(Method.LORA_PRO, tmp.resolve("split"), 6, 3, null);
        Snapshot resumed = train(Method.LORA_PRO, tmp.resolve("split"), 6, 6,
                TrainingEngine.checkpointDir(tmp.resolve("split"), 3));
        assertSame(whole, resumed);
        assertTrue(whole.result().losses()[5] < whole.result().losses()[0],
                "loss did not decrease: " + java.util.Arrays.toString(whole.result().losses()));
        // the run really kept bf16 moments: every exported moment is a bfloat16 number
        assertFalse(whole.state().isEmpty());
        whole.state().forEach((k, values) -> {
            for (float x : values) {
                assertEquals(0, Float.floatToRawIntBits(x) & 0xFFFF, k);
            }
        });
    }

    /**
     * A new run into the directory of an earlier one is refused before it writes anything: it would
     * have cut the earlier metrics.jsonl back and replaced its checkpoints one by one. Resuming the
     * earlier run there is what is allowed.
     */
    @Test
    void aNewRunIntoAnEarlierRunsDirectoryIsRefused() throws java.io.IOException {
        Path run = tmp.resolve("run");
        train(Method.LORA, run, 4, 2, null);
        Path metrics = run.resolve(TrainingEngine.METRICS_FILE);
        String before = java.nio.file.Files.readString(metrics);
        ai.lorapro.InvalidInputException e = assertThrows(ai.lorapro.InvalidInputException.class,
                () -> train(Method.LORA, run, 4, 4, null));
        assertEquals(run + " holds another run's metrics.jsonl: continue that run (optResumeFrom a checkpoint of it;"
                + " the command line's --resume) or choose a new output directory", e.getMessage());
        assertEquals(before, java.nio.file.Files.readString(metrics));
        // checkpoints alone count too
        java.nio.file.Files.delete(metrics);
        e = assertThrows(ai.lorapro.InvalidInputException.class, () -> train(Method.LORA, run, 4, 4, null));
        assertTrue(e.getMessage().startsWith(run + " holds another run's checkpoints/:"), e.getMessage());
        // resuming it is what the directory is for
        train(Method.LORA, run, 4, 4, TrainingEngine.checkpointDir(run, 2));

        // a link named metrics.jsonl, even to nothing, is not written through
        Path linked = tmp.resolve("linked");
        Path target = tmp.resolve("elsewhere").resolve("metrics.jsonl");
        java.nio.file.Files.createDirectories(linked);
        java.nio.file.Files.createSymbolicLink(linked.resolve(TrainingEngine.METRICS_FILE), target);
        e = assertThrows(ai.lorapro.InvalidInputException.class, () -> train(Method.LORA, linked, 4, 4, null));
        assertTrue(e.getMessage().startsWith(linked + " holds another run's metrics.jsonl"), e.getMessage());
        assertFalse(java.nio.file.Files.exists(target));
    }

    /** A resume from next to a checkpoint (its run, its checkpoints directory, its adapter) says where the checkpoint is. */
    @Test
    void resumeFromNearACheckpointNamesIt() {
        Path run = tmp.resolve("run");
        train(Method.LORA, run, 4, 2, null);
        Path checkpoint = TrainingEngine.checkpointDir(run, 2);
        for (Path near : new Path[] {run, run.resolve(TrainingEngine.CHECKPOINTS_DIR)}) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> train(Method.LORA, run, 4, 4, near));
            assertTrue(e.getMessage().endsWith("; " + near + " holds checkpoints: resume from one of them, such as the"
                    + " latest, " + checkpoint), e.getMessage());
        }
        Path adapter = checkpoint.resolve(TrainingCheckpoint.ADAPTER_DIR);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> train(Method.LORA, run, 4, 4, adapter));
        assertTrue(e.getMessage().endsWith("; " + adapter + " is inside the checkpoint " + checkpoint
                + ": resume from that"), e.getMessage());
    }

    @Test
    void resumeRefusesOtherDataOrMethod() {
        train(Method.LORA, tmp.resolve("run"), 4, 2, null);
        Path checkpoint = TrainingEngine.checkpointDir(tmp.resolve("run"), 2);
        ResumeMismatchException wrongMethod = assertThrows(ResumeMismatchException.class,
                () -> train(Method.LORA_PRO, tmp.resolve("run"), 4, 4, checkpoint));
        assertEquals("method", wrongMethod.field());
        assertTrue(wrongMethod.getMessage().contains("field method differs"), wrongMethod.getMessage());
        assertFalse(wrongMethod.getMessage().contains("--"), wrongMethod.getMessage());
    }

    /**
     * Full fine-tuning's weights are checked like an adapter's: a NaN in the checkpoint's
     * model.safetensors was restored, and every remaining step then skipped as non-finite.
     */
    @Test
    void resumeOfFullFineTuningRefusesANonFiniteWeight() throws IOException {
        train(Method.FULL, tmp.resolve("run"), 4, 2, null);
        Path checkpoint = TrainingEngine.checkpointDir(tmp.resolve("run"), 2);
        Path file = checkpoint.resolve(TrainingCheckpoint.WEIGHTS_FILE);
        String tensor = "model.layers.0.self_attn.q_proj.weight";
        long at;
        try (SafetensorsFile source = SafetensorsFile.open(file)) {
            at = source.info(tensor).begin();
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putFloat((int) (8 + buffer.getLong(0) + at), Float.NaN);
        Files.write(file, bytes);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> train(Method.FULL, tmp.resolve("run"), 4, 4, checkpoint));
        assertEquals(file + ": tensor '" + tensor + "' holds NaN or infinity", e.getMessage());
    }

    /**
     * A refused build takes its adapters out of the caller's model again: the corrected builder
     * was refused with "already has a LoRA adapter ... resume from its checkpoint", which is what
     * it was doing.
     */
    @Test
    void aRefusedResumeLeavesTheModelAsItWasGiven() {
        Path run = tmp.resolve("run");
        train(Method.LORA_PRO, run, 4, 2, null);
        Path checkpoint = TrainingEngine.checkpointDir(run, 2);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            Set<String> before = ModuleTree.namedParameters(model).keySet();
            TrainConfig changedLr = config(Method.LORA_PRO, run, 4).toBuilder().optLr(0.02f).build();
            TrainingEngine.Builder refused = TrainingEngine.builder().setTask(new CausalLmTask(model))
                    .setConfig(changedLr).setManager(manager).setTrainExamples(train).optResumeFrom(checkpoint);
            assertEquals("lr", assertThrows(ResumeMismatchException.class, refused::build).field());
            assertEquals(before, ModuleTree.namedParameters(model).keySet());
            assertTrue(LoraInjector.adaptedLayers(model).isEmpty());
            try (TrainingEngine engine = TrainingEngine.builder().setTask(new CausalLmTask(model))
                    .setConfig(changedLr.toBuilder().optAllowedResumeChanges(Set.of("lr")).build())
                    .setManager(manager).setTrainExamples(train).optResumeFrom(checkpoint).build()) {
                assertEquals(4, engine.runUntil(4).globalStep());
            }
        }
    }

    /**
     * Ids and labels the model has no row for, and a pad id outside the vocabulary, are refused
     * when the engine is built, naming the example: a label failed in the loss ("index 30 is out
     * of bounds for dimension 2") and an evaluation id only after the last step.
     */
    @Test
    void examplesAndAPadIdOutsideTheVocabularyAreRefusedByExampleBeforeAnyStep() {
        List<Example> badLabel = new ArrayList<>(train);
        badLabel.set(2, new Example(new long[] {1, 5, 6}, new long[] {Example.IGNORE_INDEX, 5, VOCAB + 6}));
        List<Example> badEval = new ArrayList<>(eval);
        badEval.add(new Example(new long[] {1, VOCAB + 6, 2}, new long[] {Example.IGNORE_INDEX, 3, 2}));
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            InvalidInputException label = assertThrows(InvalidInputException.class,
                    () -> engine(manager, model, Method.LORA, "labels", 4).setTrainExamples(badLabel).build());
            assertTrue(label.getMessage().startsWith("training example 3: label 30 at position 2 is neither a token id"
                    + " in 0..23 (vocab_size 24) nor -100"), label.getMessage());
            InvalidInputException id = assertThrows(InvalidInputException.class,
                    () -> engine(manager, model, Method.LORA, "eval", 4).optEvalExamples(badEval).build());
            assertTrue(id.getMessage().startsWith("evaluation example 9: token id 30 at position 1 is outside the"
                    + " vocabulary 0..23"), id.getMessage());
            InvalidInputException pad = assertThrows(InvalidInputException.class,
                    () -> engine(manager, model, Method.LORA, "pad", 4).optPadId(-100).build());
            assertTrue(pad.getMessage().startsWith("the pad id (optPadId) -100 is not a token id the model takes"),
                    pad.getMessage());
            // nothing was written, and the model took no adapter
            assertFalse(Files.exists(tmp.resolve("labels")));
            assertTrue(LoraInjector.adaptedLayers(model).isEmpty());
        }
    }

    /** The run's last checkpoint is written before its final evaluation, which may fail. */
    @Test
    void aFailingFinalEvaluationKeepsTheFinalCheckpoint() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = engine(manager, model, Method.LORA, "failing-eval", 3)
                    .optEvalHook(step -> {
                        throw new IllegalStateException("the evaluation's scorer failed");
                    })
                    .build()) {
                assertThrows(IllegalStateException.class, engine::run);
            }
        }
        assertTrue(Files.isRegularFile(TrainingEngine.checkpointDir(tmp.resolve("failing-eval"), 3)
                .resolve(TrainerState.FILE_NAME)));
    }

    /**
     * keepCheckpoints deletes the run's older checkpoints as newer ones are published, across a
     * resume (the checkpoint resumed from among them), and nothing else in checkpoints/.
     */
    @Test
    void keepCheckpointsKeepsTheNewestOfTheRun() throws IOException {
        Path run = tmp.resolve("kept");
        Path checkpoints = run.resolve(TrainingEngine.CHECKPOINTS_DIR);
        // what optCheckpointPublished is told, with checkpoints/ as it is then: after the deletions
        List<String> published = new ArrayList<>();
        for (int[] leg : new int[][] {{0, 4}, {4, 6}}) {
            try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
                LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
                try (TrainingEngine engine = TrainingEngine.builder()
                        .setTask(new CausalLmTask(model))
                        .setConfig(config(Method.LORA_PRO, run, 6).toBuilder()
                                .optCheckpointInterval(1)
                                .optKeepCheckpoints(2)
                                .build())
                        .setManager(manager)
                        .setTrainExamples(train)
                        .optResumeFrom(leg[0] == 0 ? null : TrainingEngine.checkpointDir(run, leg[0]))
                        .optCheckpointPublished(dir -> {
                            assertTrue(Files.isRegularFile(dir.resolve(TrainerState.FILE_NAME)));
                            try {
                                published.add(dir.getFileName() + " " + entries(checkpoints));
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        })
                        .build()) {
                    engine.runUntil(leg[1]);
                }
            }
            if (leg[0] == 0) {
                assertEquals(List.of("step-000003", "step-000004"), entries(checkpoints));
                // the user's own entries in checkpoints/: an unfinished step directory and a file
                Files.createDirectories(checkpoints.resolve("step-000001"));
                Files.writeString(checkpoints.resolve("notes.txt"), "mine");
            }
        }
        assertEquals(List.of("notes.txt", "step-000001", "step-000005", "step-000006"), entries(checkpoints));
        assertEquals(List.of("step-000001 [step-000001]", "step-000002 [step-000001, step-000002]",
                "step-000003 [step-000002, step-000003]", "step-000004 [step-000003, step-000004]",
                "step-000005 [notes.txt, step-000001, step-000004, step-000005]",
                "step-000006 [notes.txt, step-000001, step-000005, step-000006]"), published);
    }

    private static List<String> entries(Path dir) throws IOException {
        try (java.util.stream.Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** A refused full fine-tuning build freezes again what it unfroze: a corrected LoRA builder would train it all. */
    @Test
    void aRefusedFullFineTuningBuildLeavesTheWeightsFrozen() {
        Path run = tmp.resolve("full");
        train(Method.FULL, run, 4, 2, null);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            Map<String, Boolean> before = new TreeMap<>();
            ModuleTree.namedParameters(model).forEach((name, p) -> before.put(name, p.requiresGradient()));
            TrainConfig changedLr = config(Method.FULL, run, 4).toBuilder().optLr(0.02f).build();
            assertThrows(ResumeMismatchException.class, () -> TrainingEngine.builder().setTask(new CausalLmTask(model))
                    .setConfig(changedLr).setManager(manager).setTrainExamples(train)
                    .optResumeFrom(TrainingEngine.checkpointDir(run, 2)).build());
            Map<String, Boolean> after = new TreeMap<>();
            ModuleTree.namedParameters(model).forEach((name, p) -> after.put(name, p.requiresGradient()));
            assertEquals(before, after);
            assertTrue(before.containsValue(false), "the base weights start frozen");
        }
    }

    /** A checkpoint whose optimizer file holds an array the optimizer does not keep is refused, naming the file. */
    @Test
    void resumeRefusesAnOptimizerFileWithForeignArrays() {
        train(Method.LORA_PRO, tmp.resolve("run"), 4, 2, null);
        Path checkpoint = TrainingEngine.checkpointDir(tmp.resolve("run"), 2);
        Path file = checkpoint.resolve(TrainingCheckpoint.OPTIMIZER_FILE);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu());
                SafetensorsFile source = SafetensorsFile.open(file)) {
            Map<String, NDArray> arrays = new TreeMap<>();
            for (String name : source.names()) {
                // full mode's m x n moments renamed as efficient mode names its factor moments
                arrays.put(name.replace(".exp_avg", ".lora_A.weight.exp_avg"), source.load(manager, name, DataType.FLOAT32));
            }
            SafetensorsWriter.write(file, arrays, Map.of());
        }
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                () -> train(Method.LORA_PRO, tmp.resolve("run"), 4, 4, checkpoint));
        assertTrue(e.getMessage().startsWith(file + " with " + TrainingCheckpoint.OPTIMIZER_STEPS_FILE
                + ": optimizer state tensor '")
                && e.getMessage().contains("is not one this optimizer keeps"), e.getMessage());
    }

    @Test
    void progressGoesToTheGivenReporterOncePerStepAndRun() {
        List<String> calls = new ArrayList<>();
        ProgressReporter.Factory recording = (start, total, every) -> {
            calls.add("run " + start + ".." + total + " every " + every);
            return new ProgressReporter() {
                @Override
                public void update(long step, double loss, double lr, double tokensPerSecond) {
                    calls.add("step " + step + " loss " + loss);
                }

                @Override
                public void finish() {
                    calls.add("finish");
                }
            };
        };
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = engine(manager, model, Method.LORA_PRO, "progress", 3)
                    .optProgress(recording)
                    .build()) {
                TrainResult first = engine.runUntil(2);
                TrainResult second = engine.runUntil(3);
                assertEquals(List.of("run 0..3 every 100", "step 1 loss " + first.losses()[0],
                        "step 2 loss " + first.losses()[1], "finish", "run 2..3 every 100",
                        "step 3 loss " + second.losses()[0], "finish"), calls);
            }
        }
        assertThrows(NullPointerException.class, () -> TrainingEngine.builder().optProgress(null));
    }

    /** Progress is only shown: a reporter that throws is dropped, and the run trains and checkpoints on. */
    @Test
    void aReporterThatThrowsDoesNotStopTheRun() {
        List<Long> seen = new ArrayList<>();
        ProgressReporter.Factory broken = (start, total, every) -> new ProgressReporter() {
            @Override
            public void update(long step, double loss, double lr, double tokensPerSecond) {
                seen.add(step);
                if (step == 2) {
                    throw new IllegalStateException("the console went away");
                }
            }

            @Override
            public void finish() {
                seen.add(-1L);
            }
        };
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = engine(manager, model, Method.LORA, "broken-progress", 3)
                    .optProgress(broken).build()) {
                TrainResult result = engine.run();
                assertEquals(3, result.globalStep());
                assertTrue(Files.isDirectory(TrainingEngine.checkpointDir(tmp.resolve("broken-progress"), 3)));
            }
        }
        assertEquals(List.of(1L, 2L), seen, "not called again after it threw, finish included");
    }

    /** A step that throws still ends the report (a terminal bar its line) before the error leaves the engine. */
    @Test
    void aFailingStepStillFinishesTheProgressReport() {
        List<String> calls = new ArrayList<>();
        ProgressReporter.Factory recording = (start, total, every) -> new ProgressReporter() {
            @Override
            public void update(long step, double loss, double lr, double tokensPerSecond) {
                calls.add("step " + step);
            }

            @Override
            public void finish() {
                calls.add("finish");
            }
        };
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            TrainTask failing = new TrainTask() {
                private int calls;

                @Override
                public ai.djl.nn.Block model() {
                    return model;
                }

                @Override
                public NDArray[] lossSumAndCount(ParameterStore store, NDManager m, Batch batch, boolean training) {
                    // global 8 / micro 4: the third pass is the second step's first
                    if (training && ++calls == 3) {
                        throw new IllegalStateException("out of memory, say");
                    }
                    return new CausalLmTask(model).lossSumAndCount(store, m, batch, training);
                }
            };
            try (TrainingEngine engine = TrainingEngine.builder().setTask(failing)
                    .setConfig(config(Method.LORA, tmp.resolve("failing"), 3)).setManager(manager)
                    .setTrainExamples(train).optProgress(recording).build()) {
                assertThrows(IllegalStateException.class, engine::run);
            }
        }
        assertEquals(List.of("step 1", "finish"), calls);
    }

    @Test
    void liveArraysDoNotGrowOverManySteps() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = engine(manager, model, Method.LORA_PRO, "leak", 25)
                    .optEvalExamples(eval)
                    .build()) {
                engine.runUntil(5);
                int after5 = manager.getManagedArrays().size();
                engine.runUntil(25);
                int after25 = manager.getManagedArrays().size();
                assertEquals(after5, after25, "live arrays grew between step 5 and step 25");
            }
        }
    }

    @Test
    void accumulationKeepsTheArraysOfOneMicroBatchAtATime() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            CountingTask task = new CountingTask(new CausalLmTask(model), manager);
            TrainConfig config = TrainConfig.builder().optMethod(Method.LORA).optR(4).optAlpha(8).optLr(0.01f)
                    .optMaxSteps(1).optGlobalBatch(16).optMicroBatch(4).optDevice(DeviceChoice.CPU)
                    .optLogInterval(100).setOutputDir(tmp.resolve("accumulate")).build();
            try (TrainingEngine engine = TrainingEngine.builder().setTask(task).setConfig(config).setManager(manager)
                    .setTrainExamples(train).build()) {
                engine.runUntil(1);
            }
            // the arrays alive when each of the step's four micro-batches starts: the first one's
            // activations must be gone when the last one starts
            assertEquals(4, task.liveAtStart.size(), task.liveAtStart.toString());
            assertTrue(task.liveAfterFirst > task.liveAtStart.get(0) + 20, "a pass makes arrays: " + task.liveAfterFirst);
            assertEquals(List.of(task.liveAtStart.get(0), task.liveAtStart.get(0), task.liveAtStart.get(0),
                    task.liveAtStart.get(0)), task.liveAtStart, "arrays alive as each micro-batch starts");
        }
    }

    /** Counts the arrays alive under the model's manager when each training micro-batch starts. */
    private static final class CountingTask implements TrainTask {
        private final CausalLmTask inner;
        private final NDManager root;
        private final List<Integer> liveAtStart = new java.util.ArrayList<>();
        private int liveAfterFirst;

        CountingTask(CausalLmTask inner, NDManager root) {
            this.inner = inner;
            this.root = root;
        }

        @Override
        public ai.djl.nn.Block model() {
            return inner.model();
        }

        @Override
        public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
            if (training) {
                liveAtStart.add(root.getManagedArrays().size());
            }
            NDArray[] parts = inner.lossSumAndCount(store, manager, batch, training);
            if (training && liveAtStart.size() == 1) {
                liveAfterFirst = root.getManagedArrays().size();
            }
            return parts;
        }
    }

    /** A task whose loss is NaN on one chosen call, as a diverging batch would be. */
    private static final class PoisonedTask implements TrainTask {
        private final CausalLmTask inner;
        private final int poisonedCall;
        private int calls;

        PoisonedTask(CausalLmTask inner, int poisonedCall) {
            this.inner = inner;
            this.poisonedCall = poisonedCall;
        }

        @Override
        public ai.djl.nn.Block model() {
            return inner.model();
        }

        @Override
        public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
            NDArray[] parts = inner.lossSumAndCount(store, manager, batch, training);
            if (training && ++calls == poisonedCall) {
                return new NDArray[] {parts[0].mul(Float.NaN), parts[1]};
            }
            return parts;
        }
    }

    @Test
    void nonFiniteLossSkipsTheStepAndLeavesWeightsAndStateUnchanged() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            // global 8 / micro 4: calls 3 and 4 are step 2; poison call 3
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new PoisonedTask(new CausalLmTask(model), 3))
                    .setConfig(config(Method.LORA_PRO, tmp.resolve("nan"), 4))
                    .setManager(manager)
                    .setTrainExamples(train)
                    .build()) {
                Snapshot before = snapshot(engine, manager, engine.runUntil(1));
                Snapshot skipped = snapshot(engine, manager, engine.runUntil(2));
                assertEquals(1, skipped.result().skippedSteps());
                assertTrue(Double.isNaN(skipped.result().finalLoss()));
                assertSame(before, skipped);
                Snapshot next = snapshot(engine, manager, engine.runUntil(3));
                assertTrue(Double.isFinite(next.result().finalLoss()));
                assertEquals(2, next.steps().get("model.layers.0.self_attn.q_proj"), next.steps().toString());
            }
        }
    }

    /**
     * Plain text supervises every token, the first included, which a causal LM never scores (it is
     * predicted from nothing): the step's loss is the mean over the scored tokens, the evaluation's
     * (it was divided by one more token per example, 1/7 too low here).
     */
    @Test
    void theStepLossOfPlainTextIsTheMeanOverTheScoredTokens() {
        java.util.Random random = new java.util.Random(3);
        List<Example> text = new ArrayList<>();
        for (int n = 0; n < 8; n++) {
            long[] ids = new long[8];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = 4 + random.nextInt(VOCAB - 5);
            }
            text.add(new Example(ids, ids.clone()));
        }
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            CausalLmTask task = new CausalLmTask(model);
            double evaluated = Evaluator.evaluate(task, manager, text, 4, 0).get("loss");
            try (TrainingEngine engine = TrainingEngine.builder().setTask(task)
                    .setConfig(config(Method.LORA, tmp.resolve("mean"), 1)).setManager(manager)
                    .setTrainExamples(text).build()) {
                // B = 0: the adapted model computes what the model did, before the step
                double trained = engine.runUntil(1).finalLoss();
                assertEquals(evaluated, trained, 1e-5 * evaluated);
            }
        }
    }

    /** A step whose only labels are first positions (never scored) is skipped as empty, not as an overflow. */
    @Test
    void aStepThatScoresNoTokenIsSkippedAsEmpty() {
        List<Example> firstOnly = new ArrayList<>();
        for (int n = 0; n < 8; n++) {
            firstOnly.add(new Example(new long[] {5 + n, 6, 7}, new long[] {5 + n, Example.IGNORE_INDEX,
                    Example.IGNORE_INDEX}));
        }
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            try (TrainingEngine engine = TrainingEngine.builder().setTask(new CausalLmTask(model))
                    .setConfig(config(Method.LORA, tmp.resolve("empty"), 1)).setManager(manager)
                    .setTrainExamples(firstOnly).build()) {
                Map<String, float[]> before = new LinkedHashMap<>();
                engine.getTrainableParameters().forEach((k, p) -> before.put(k, p.getArray().toFloatArray()));
                TrainResult result = engine.runUntil(1);
                assertEquals(1, result.skippedSteps());
                engine.getTrainableParameters().forEach((k, p) -> assertArrayEquals(before.get(k),
                        p.getArray().toFloatArray(), 0f, k));
            }
        }
    }

    @Test
    void gradientAccumulationMatchesOneLargeBatch() {
        Map<String, float[]> accumulated = oneStep(2);
        Map<String, float[]> whole = oneStep(8);
        for (Map.Entry<String, float[]> e : whole.entrySet()) {
            float[] a = accumulated.get(e.getKey());
            for (int i = 0; i < a.length; i++) {
                assertEquals(e.getValue()[i], a[i], 1e-4 * Math.max(1, Math.abs(e.getValue()[i])), e.getKey());
            }
        }
    }

    private Map<String, float[]> oneStep(int microBatch) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 7);
            TrainConfig c = config(Method.LORA_PRO_SGD, tmp.resolve("acc" + microBatch), 3).toBuilder()
                    .optMicroBatch(microBatch).optWarmupRatio(0).optClipNorm(0).build();
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model)).setConfig(c).setManager(manager)
                    .setTrainExamples(train).build()) {
                engine.runUntil(2);
                Map<String, float[]> out = new LinkedHashMap<>();
                engine.getTrainableParameters().forEach((k, p) -> out.put(k, p.getArray().toFloatArray()));
                return out;
            }
        }
    }
}
