package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.util.Pair;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.optim.LoraProAdamW;
import ai.lorapro.optim.PlainAdamW;
import ai.lorapro.optim.ResumableOptimizer;
import ai.lorapro.optim.StateDType;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A loop of the user's own (no engine): stopped after two updates, its optimizer saved with {@link
 * OptimizerCheckpoint} and restored into a new optimizer, it continues bit for bit as the
 * uninterrupted loop does.
 */
class OptimizerCheckpointTest {

    private static final int M = 6;
    private static final int N = 5;
    private static final int R = 2;

    @TempDir
    Path tmp;

    /** A pair (A, B) and a plain weight, with their values. */
    private record Weights(Parameter a, Parameter b, Parameter head) {
        List<Parameter> all() {
            return List.of(a, b, head);
        }
    }

    private static Parameter parameter(NDManager manager, String name, float[] values, Shape shape) {
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        NDArray array = manager.create(values, shape);
        array.setRequiresGradient(true);
        p.setArray(array);
        return p;
    }

    private static float[] draw(Random rng, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) rng.nextGaussian() * 0.5f;
        }
        return v;
    }

    private static Weights weights(NDManager manager, float[] a, float[] b, float[] head) {
        return new Weights(parameter(manager, "layer.lora_A.weight", a, new Shape(R, N)),
                parameter(manager, "layer.lora_B.weight", b, new Shape(M, R)),
                parameter(manager, "head.weight", head, new Shape(3, N)));
    }

    /** {@code builder} over the pair and the head of {@code w}, at a rate that falls with DJL's update count. */
    private static <T extends ResumableOptimizer.Builder<T>> T over(T builder, Weights w) {
        return builder
                // the counters must resume too
                .setLearningRateTracker(count -> 0.02f / count)
                .addLoraPair("layer", w.a(), w.b(), 2f)
                .nameParameter("layer.lora_A.weight", w.a())
                .nameParameter("layer.lora_B.weight", w.b())
                .nameParameter("head.weight", w.head());
    }

    /** Weights drawn from {@code seed}. */
    private static Weights drawn(NDManager manager, long seed) {
        Random rng = new Random(seed);
        return weights(manager, draw(rng, R * N), draw(rng, M * R), draw(rng, 3 * N));
    }

    private static ResumableOptimizer optimizer(Weights w, StateDType dtype) {
        return over(LoraProAdamW.builder().optStateDType(dtype).optWeightDecay(0.01f), w).build();
    }

    /** Update {@code t} (1-based) of every weight, with gradients drawn from the step's seed. */
    private static void update(NDManager manager, ResumableOptimizer optimizer, Weights w, int t) {
        Random rng = new Random(100 + t);
        for (Parameter p : w.all()) {
            NDArray array = p.getArray();
            NDArray grad = manager.create(draw(rng, (int) array.size()), array.getShape());
            optimizer.update(p.getId(), array, grad);
        }
    }

    @ParameterizedTest
    @EnumSource(StateDType.class)
    void aLoopOfItsOwnStopsAndContinuesBitForBit(StateDType dtype) throws IOException {
        Random rng = new Random(7);
        float[] a0 = draw(rng, R * N);
        float[] b0 = draw(rng, M * R);
        float[] head0 = draw(rng, 3 * N);
        Path dir = tmp.resolve("state");
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Weights straight = weights(manager, a0, b0, head0);
            try (ResumableOptimizer optimizer = optimizer(straight, dtype)) {
                for (int t = 1; t <= 4; t++) {
                    update(manager, optimizer, straight, t);
                }
            }
            Weights stopped = weights(manager, a0, b0, head0);
            try (ResumableOptimizer optimizer = optimizer(stopped, dtype)) {
                update(manager, optimizer, stopped, 1);
                update(manager, optimizer, stopped, 2);
                OptimizerCheckpoint.save(optimizer, dir);
            }
            try (Stream<Path> files = Files.list(dir)) {
                assertEquals(List.of(OptimizerCheckpoint.TENSORS_FILE, OptimizerCheckpoint.STEPS_FILE).stream().sorted().toList(),
                        files.map(f -> f.getFileName().toString()).sorted().toList(),
                        "the two files and nothing half-written");
            }
            // a new process: the weights as they were after step 2, a new optimizer built the same way
            Weights resumed = weights(manager, stopped.a().getArray().toFloatArray(),
                    stopped.b().getArray().toFloatArray(), stopped.head().getArray().toFloatArray());
            try (ResumableOptimizer optimizer = optimizer(resumed, dtype)) {
                CheckpointFormatException early = assertThrows(CheckpointFormatException.class,
                        () -> OptimizerCheckpoint.restore(dir, optimizer, manager, 1));
                assertTrue(early.getMessage().startsWith(dir.resolve(OptimizerCheckpoint.STEPS_FILE)
                        + ": step count 2 of '"), early.getMessage());
                assertThrows(IllegalArgumentException.class,
                        () -> OptimizerCheckpoint.restore(dir, optimizer, manager, -1));
                OptimizerCheckpoint.restore(dir, optimizer, manager, 2);
                update(manager, optimizer, resumed, 3);
                update(manager, optimizer, resumed, 4);
            }
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(straight.all().get(i).getArray().toFloatArray(),
                        resumed.all().get(i).getArray().toFloatArray(), 0f, straight.all().get(i).getName());
            }
        }
    }

    /**
     * The README's way, in a DJL {@code Trainer}: after two steps the adapter ({@link PeftAdapter})
     * and the optimizer are saved; a new model, trainer and optimizer built the same way load them
     * and take steps 3 and 4, which end where the uninterrupted four steps end, bit for bit.
     */
    /** float64 factors keep float64 moments: saved as F64, they came back narrowed to float32, and drifted by 1e-10. */
    @ParameterizedTest
    @EnumSource(LoraProAdamW.Mode.class)
    void float64StateContinuesBitForBit(LoraProAdamW.Mode mode) {
        Random draw = new Random(7);
        double[][] start = {gaussians(draw, 2 * 5), gaussians(draw, 6 * 2), gaussians(draw, 3 * 5)};
        try (NDManager manager = NDManager.newBaseManager()) {
            List<Parameter> straight = float64Weights(manager, start);
            try (ResumableOptimizer optimizer = float64Optimizer(straight, mode)) {
                for (int t = 1; t <= 4; t++) {
                    float64Step(manager, optimizer, straight, t);
                }
            }
            List<Parameter> stopped = float64Weights(manager, start);
            Path dir = tmp.resolve("f64-" + mode);
            try (ResumableOptimizer optimizer = float64Optimizer(stopped, mode)) {
                float64Step(manager, optimizer, stopped, 1);
                float64Step(manager, optimizer, stopped, 2);
                OptimizerCheckpoint.save(optimizer, dir);
            }
            double[][] now = stopped.stream().map(p -> p.getArray().toDoubleArray()).toArray(double[][]::new);
            List<Parameter> resumed = float64Weights(manager, now);
            try (ResumableOptimizer optimizer = float64Optimizer(resumed, mode)) {
                OptimizerCheckpoint.restore(dir, optimizer, manager, 2);
                float64Step(manager, optimizer, resumed, 3);
                float64Step(manager, optimizer, resumed, 4);
            }
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(straight.get(i).getArray().toDoubleArray(), resumed.get(i).getArray().toDoubleArray(),
                        0.0, mode + " " + straight.get(i).getName());
            }
        }
    }

    private static double[] gaussians(Random draw, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = draw.nextGaussian() * 0.5;
        }
        return v;
    }

    /** A (2 x 5), B (6 x 2) and a head (3 x 5), float64, holding {@code values}. */
    private static List<Parameter> float64Weights(NDManager manager, double[][] values) {
        Shape[] shapes = {new Shape(2, 5), new Shape(6, 2), new Shape(3, 5)};
        String[] names = {"A", "B", "head"};
        List<Parameter> weights = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Parameter p = Parameter.builder().setName(names[i]).setType(Parameter.Type.WEIGHT).build();
            NDArray array = manager.create(values[i], shapes[i]);
            array.setRequiresGradient(true);
            p.setArray(array);
            weights.add(p);
        }
        return weights;
    }

    private static ResumableOptimizer float64Optimizer(List<Parameter> w, LoraProAdamW.Mode mode) {
        return LoraProAdamW.builder().optMode(mode).setLearningRateTracker(ai.djl.training.tracker.Tracker.fixed(1e-2f))
                .addLoraPair("layer", w.get(0), w.get(1), 2f).nameParameter("head.weight", w.get(2)).build();
    }

    private static void float64Step(NDManager manager, ResumableOptimizer optimizer, List<Parameter> w, int t) {
        Random draw = new Random(100 + t);
        for (Parameter p : w) {
            NDArray array = p.getArray();
            optimizer.update(p.getId(), array, manager.create(gaussians(draw, (int) array.size()), array.getShape()));
        }
    }

    @Test
    void aDjlTrainerStopsAndContinuesBitForBit() {
        Path saved = tmp.resolve("after-2");
        List<float[]> straight = trainInATrainer(0, 4, null, null);
        trainInATrainer(0, 2, saved, null);
        List<float[]> resumed = trainInATrainer(2, 4, null, saved);
        assertEquals(straight.size(), resumed.size());
        for (int i = 0; i < straight.size(); i++) {
            assertArrayEquals(straight.get(i), resumed.get(i), 0f, "parameter " + i);
        }
    }

    /**
     * Steps {@code from + 1 .. to} of QuickStart's network in a DJL Trainer; saves the adapter and
     * the optimizer at the end into {@code saveTo}, or first restores them from {@code restoreFrom}.
     *
     * @return every parameter's values at the end, in the network's order
     */
    private static List<float[]> trainInATrainer(int from, int to, Path saveTo, Path restoreFrom) {
        Engine.getInstance().setRandomSeed(42); // the same initial weights in every "process"
        LoraConfig lora = LoraConfig.builder().setR(4).setAlpha(8).build();
        SequentialBlock net = new SequentialBlock()
                .add(LoraLinear.builder().setInFeatures(16).setOutFeatures(32).optLora(lora).build())
                .add(Activation::relu)
                .add(LoraLinear.builder().setInFeatures(32).setOutFeatures(8).optLora(lora).build());
        try (LoraProAdamW optimizer = LoraProAdamW.builder()
                        // DJL's update count starts at 10 and the rate falls with it: the counters must
                        // resume, and they are not training steps
                        .setLearningRateTracker(count -> 0.1f / count)
                        .optBeginNumUpdate(10)
                        .optWeightDecay(0.01f)
                        .addLoraLayers(net)
                        .build();
                Model model = Model.newInstance("resume")) {
            model.setBlock(net);
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(optimizer).optDevices(new Device[] {Device.cpu()}))) {
                trainer.initialize(new Shape(8, 16));
                NDManager manager = trainer.getManager();
                if (restoreFrom != null) {
                    PeftAdapter.load(restoreFrom.resolve("adapter"), net);
                    OptimizerCheckpoint.restore(restoreFrom, optimizer, manager, from);
                }
                Random rng = new Random(5);
                NDArray x = manager.create(draw(rng, 8 * 16), new Shape(8, 16));
                NDArray y = manager.create(draw(rng, 8 * 8), new Shape(8, 8));
                for (int step = from + 1; step <= to; step++) {
                    try (NDManager stepManager = manager.newSubManager()) {
                        NDList input = new NDList(x.duplicate());
                        NDList label = new NDList(y.duplicate());
                        input.attach(stepManager);
                        label.attach(stepManager);
                        try (GradientCollector collector = trainer.newGradientCollector()) {
                            collector.backward(trainer.getLoss().evaluate(label, trainer.forward(input)));
                        }
                        trainer.step();
                    }
                }
                if (saveTo != null) {
                    PeftAdapter.save(net, saveTo.resolve("adapter"), "quickstart", "FEATURE_EXTRACTION");
                    OptimizerCheckpoint.save(optimizer, saveTo);
                }
                List<float[]> values = new ArrayList<>();
                for (Pair<String, Parameter> p : net.getParameters()) {
                    values.add(p.getValue().getArray().toFloatArray());
                }
                return values;
            }
        }
    }

    /** An efficient-mode LoRA-Pro AdamW and a plain AdamW over the same weights. */
    private static ResumableOptimizer efficient(Weights w) {
        return over(LoraProAdamW.builder().optMode(LoraProAdamW.Mode.EFFICIENT), w).build();
    }

    private static ResumableOptimizer plain(Weights w) {
        return over(PlainAdamW.builder(), w).build();
    }

    /** Saves after {@code steps} updates of a fresh set of weights into {@code dir}. */
    private static void saveAfter(NDManager manager, int steps, Path dir,
            java.util.function.Function<Weights, ResumableOptimizer> kind) {
        Weights w = drawn(manager, 11);
        try (ResumableOptimizer optimizer = kind.apply(w)) {
            for (int t = 1; t <= steps; t++) {
                update(manager, optimizer, w, t);
            }
            OptimizerCheckpoint.save(optimizer, dir);
        }
    }

    /** Restores {@code dir} into a fresh optimizer of {@code kind}, expecting a refusal, and returns its message. */
    private static String refusal(NDManager manager, Path dir, java.util.function.Function<Weights, ResumableOptimizer> kind) {
        Weights w = drawn(manager, 12);
        try (ResumableOptimizer optimizer = kind.apply(w)) {
            return assertThrows(CheckpointFormatException.class,
                    () -> OptimizerCheckpoint.restore(dir, optimizer, manager, 10)).getMessage();
        }
    }

    /** Same names and shapes, other moments: another optimizer's state is refused, both ways. */
    @Test
    void anotherKindOfOptimizersStateIsRefused() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            saveAfter(manager, 2, tmp.resolve("efficient"), OptimizerCheckpointTest::efficient);
            saveAfter(manager, 2, tmp.resolve("plain"), OptimizerCheckpointTest::plain);
            assertEquals(tmp.resolve("efficient").resolve(OptimizerCheckpoint.TENSORS_FILE)
                    + ": the state of a LoraProAdamW(efficient), not of this PlainAdamW",
                    refusal(manager, tmp.resolve("efficient"), OptimizerCheckpointTest::plain));
            assertTrue(refusal(manager, tmp.resolve("plain"), OptimizerCheckpointTest::efficient)
                    .endsWith(": the state of a PlainAdamW, not of this LoraProAdamW(efficient)"));
        }
    }

    /** Step counts are whole numbers an int holds, each named once: no lenient reading of a bent file. */
    @Test
    void bentStepCountsAreRefused() throws IOException {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Path dir = tmp.resolve("steps");
            saveAfter(manager, 2, dir, OptimizerCheckpointTest::plain);
            Path steps = dir.resolve(OptimizerCheckpoint.STEPS_FILE);
            String saved = Files.readString(steps);
            String name = "\"head.weight\": 2";
            assertTrue(saved.contains(name), saved);
            for (String bent : List.of("\"head.weight\": 2.9", "\"head.weight\": 4294967298",
                    "\"head.weight\": \"2\"", name + ",\n  \"head.weight\": 1")) {
                Files.writeString(steps, saved.replace(name, bent));
                String message = refusal(manager, dir, OptimizerCheckpointTest::plain);
                assertTrue(message.startsWith(steps + ": "), message);
                assertTrue(message.contains("head.weight"), message);
            }
        }
    }

    /** Tensors of one save with the step counts of another (a save torn between its two renames) are refused. */
    @Test
    void aTornPairIsRefused() throws IOException {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            saveAfter(manager, 1, tmp.resolve("one"), OptimizerCheckpointTest::plain);
            saveAfter(manager, 2, tmp.resolve("two"), OptimizerCheckpointTest::plain);
            Files.copy(tmp.resolve("two").resolve(OptimizerCheckpoint.STEPS_FILE),
                    tmp.resolve("one").resolve(OptimizerCheckpoint.STEPS_FILE), StandardCopyOption.REPLACE_EXISTING);
            String message = refusal(manager, tmp.resolve("one"), OptimizerCheckpointTest::plain);
            assertTrue(message.endsWith("were not saved together (an interrupted save, or step counts edited?):"
                    + " restore a pair that one save wrote"), message);
        }
    }

    /**
     * The same counts in another layout (compact, CRLF line ends) are the same save; a file saved
     * before kinds and hashes were recorded is taken as it is.
     */
    @Test
    void aReformattedStepsFileAndAnOlderFileAreAccepted() throws IOException {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Path dir = tmp.resolve("layout");
            saveAfter(manager, 2, dir, OptimizerCheckpointTest::plain);
            Path steps = dir.resolve(OptimizerCheckpoint.STEPS_FILE);
            Files.writeString(steps, Files.readString(steps).replace("\n  ", "").replace("\n", "\r\n"));
            restores(manager, dir, OptimizerCheckpointTest::plain);
            Path file = dir.resolve(OptimizerCheckpoint.TENSORS_FILE);
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            try (SafetensorsFile source = SafetensorsFile.open(file)) {
                for (String name : source.names()) {
                    arrays.put(name, source.load(manager, name));
                }
            }
            SafetensorsWriter.write(file, arrays, Map.of());
            restores(manager, dir, OptimizerCheckpointTest::plain);
        }
    }

    private static void restores(NDManager manager, Path dir, java.util.function.Function<Weights, ResumableOptimizer> kind) {
        Weights w = drawn(manager, 12);
        try (ResumableOptimizer optimizer = kind.apply(w)) {
            OptimizerCheckpoint.restore(dir, optimizer, manager, 2);
            assertEquals(2, optimizer.viewState().getSteps().get("head.weight"));
        }
    }

    /** A second moment below zero (which would stall its layer's updates) is refused, naming the tensor. */
    @Test
    void aNegativeSecondMomentIsRefused() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Path dir = tmp.resolve("negative");
            saveAfter(manager, 2, dir, OptimizerCheckpointTest::efficient);
            Path file = dir.resolve(OptimizerCheckpoint.TENSORS_FILE);
            Map<String, NDArray> arrays = new LinkedHashMap<>();
            Map<String, String> metadata;
            try (SafetensorsFile source = SafetensorsFile.open(file)) {
                metadata = new LinkedHashMap<>(source.metadata());
                for (String name : source.names()) {
                    arrays.put(name, source.load(manager, name));
                }
            }
            String second = arrays.keySet().stream().filter(n -> n.endsWith(".exp_avg_sq")).findFirst().orElseThrow();
            arrays.get(second).set(new ai.djl.ndarray.index.NDIndex("0"), -1f);
            SafetensorsWriter.write(file, arrays, metadata);
            assertEquals(file + ": tensor '" + second + "' holds a negative second moment (-1.0)",
                    refusal(manager, dir, OptimizerCheckpointTest::efficient));
        }
    }

    @Test
    void aMissingFileIsNamed() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Weights w = drawn(manager, 3);
            try (ResumableOptimizer optimizer = optimizer(w, StateDType.FP32)) {
                CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                        () -> OptimizerCheckpoint.restore(tmp, optimizer, manager, 0));
                assertEquals(tmp.resolve(OptimizerCheckpoint.TENSORS_FILE) + ": checkpoint file missing", e.getMessage());
            }
        }
    }

    /** Saving into a file, or under one, names it as restore does (it was a FileAlreadyExistsException's text). */
    @Test
    void savingIntoAFileIsRefusedNamingIt() throws IOException {
        Path file = Files.writeString(tmp.resolve("afile"), "mine");
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Weights w = drawn(manager, 3);
            try (ResumableOptimizer optimizer = optimizer(w, StateDType.FP32)) {
                InvalidInputException into = assertThrows(InvalidInputException.class,
                        () -> OptimizerCheckpoint.save(optimizer, file));
                assertTrue(into.getMessage().startsWith(file + " is not a directory (save writes "), into.getMessage());
                InvalidInputException under = assertThrows(InvalidInputException.class,
                        () -> OptimizerCheckpoint.save(optimizer, file.resolve("step-1")));
                assertTrue(under.getMessage().startsWith(file.resolve("step-1") + ": " + file + " is not a directory"),
                        under.getMessage());
            }
        }
        assertEquals("mine", Files.readString(file));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(file), left.collect(Collectors.toList()), "nothing else written");
        }
    }

    /**
     * State saved for one LoRA pair is refused by an optimizer of two: the second pair would have
     * restarted at t = 0 without a word. The other way round too.
     */
    @Test
    void stateOfOtherLoraPairsIsRefused() {
        Path dir = tmp.resolve("one-pair");
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            saveAfter(manager, 2, dir, w -> optimizer(w, StateDType.FP32));
            Weights w = drawn(manager, 3);
            Weights more = drawn(manager, 4);
            try (ResumableOptimizer two = over(LoraProAdamW.builder().optStateDType(StateDType.FP32)
                    .optWeightDecay(0.01f), w).addLoraPair("other", more.a(), more.b(), 2f)
                    .nameParameter("other.lora_A.weight", more.a()).nameParameter("other.lora_B.weight", more.b())
                    .build()) {
                CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                        () -> OptimizerCheckpoint.restore(dir, two, manager, 2));
                assertEquals(dir.resolve(OptimizerCheckpoint.TENSORS_FILE) + ": saved for other LoRA pairs than this"
                        + " optimizer's (1 there, 2 here); not in the file: other: restore into an optimizer over the"
                        + " same adapted modules", e.getMessage());
                assertEquals(0, two.stateBytes(), "nothing restored");
            }
            Path twoDir = tmp.resolve("two-pairs");
            Weights w2 = drawn(manager, 5);
            Weights more2 = drawn(manager, 6);
            try (ResumableOptimizer two = over(LoraProAdamW.builder().optStateDType(StateDType.FP32), w2)
                    .addLoraPair("other", more2.a(), more2.b(), 2f).build()) {
                OptimizerCheckpoint.save(two, twoDir);
            }
            try (ResumableOptimizer one = optimizer(drawn(manager, 7), StateDType.FP32)) {
                CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                        () -> OptimizerCheckpoint.restore(twoDir, one, manager, 0));
                assertTrue(e.getMessage().contains("(2 there, 1 here); not in this optimizer: other:"), e.getMessage());
            }
        }
    }
}
