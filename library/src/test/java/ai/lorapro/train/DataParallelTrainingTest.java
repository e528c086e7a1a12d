package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.UninitializedParameterException;
import ai.djl.nn.core.Linear;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.llama.LlamaForCausalLM;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Data-parallel training in the engine, on the CPU: two replicas (one CPU device twice; replicas
 * are told apart by index) with a per-device micro-batch of 1 against one replica with a
 * micro-batch of 2, on the same global batch and data order.
 */
@ExtendWith(SingleThread.class)
class DataParallelTrainingTest {

    private static final int VOCAB = 24;
    private static final int STEPS = 4;
    private static final double TOLERANCE = 1e-5;
    /**
     * Adam's first steps move each value by about lr * sign(g): a gradient element near zero, whose
     * float32 sum depends on how the examples were grouped (one pass of two or two passes of one),
     * can flip or shrink its step. At lr 1e-2 that made the two runs differ by up to 3.1e-5 (lora)
     * and 1.05e-5 (lora-pro) after four steps; at 1e-3 every method stays below 1e-5. SGD (no
     * normalisation, which also catches a gradient summed twice or averaged) runs at 0.05.
     */
    private static final float LR = 1e-3f;
    /**
     * LoRA-Pro SGD's tolerance. Its steps divide by B^T B, which is tiny for the first steps from B = 0,
     * so the float32 difference between the two groupings (1.5e-8 relative in lora's and full
     * fine-tuning's weights) comes out about a thousand times larger: 1.7e-5 after four steps on a
     * 2-core Xeon (PyTorch's CPU kernels for AVX-512), below 1e-5 on a Zen 5 machine. A replica's
     * gradient added twice moves the weights by 0.57 relative, so 1e-4 still catches that.
     */
    private static final double SGD_TOLERANCE = 1e-4;

    private List<Example> train = TinyModels.copyPlusOne(24, VOCAB, 3);

    @TempDir
    Path tmp;

    private TrainConfig config(Method method, Path out, int microBatch) {
        return TrainConfig.builder()
                .optMethod(method)
                .optR(4)
                .optAlpha(8)
                .optLr(method == Method.LORA_PRO_SGD ? 0.05f : LR)
                .optMaxSteps(STEPS)
                .optGlobalBatch(4)
                .optMicroBatch(microBatch)
                .optWarmupRatio(0)
                .optWeightDecay(0.01f)
                .optLoraDropout(0)
                .optDevice(DeviceChoice.CPU)
                .optLogInterval(100)
                .setOutputDir(out)
                .build();
    }

    /** The losses of every step and the trainable values after each step, by name. */
    private record Run(double[] losses, List<Map<String, float[]>> weightsAfterStep) {}

    private Run train(Method method, String name, int microBatch, int replicas, boolean concurrent) {
        return train(method, name, microBatch, replicas, concurrent, false, 1, null);
    }

    /**
     * Trains steps {@code firstStep} to {@link #STEPS} (resuming from {@code resume} when given),
     * recording losses and values after each; with {@code fp16} the frozen weights are float16.
     */
    private Run train(Method method, String name, int microBatch, int replicas, boolean concurrent, boolean fp16,
            int firstStep, Path resume) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = fp16 ? new LlamaForCausalLM(TinyModels.config(VOCAB))
                    : TinyModels.model(manager, VOCAB, 11);
            if (fp16) {
                RandomWeights.initialize(model, manager, DataType.FLOAT16, 11, 0.05f);
            }
            TrainingEngine.Builder builder = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(config(method, tmp.resolve(name), microBatch).toBuilder().optFp16Frozen(fp16).build())
                    .setManager(manager)
                    .setTrainExamples(train)
                    .optResumeFrom(resume)
                    .optDevices(Collections.nCopies(replicas, Device.cpu()))
                    .optConcurrentReplicas(concurrent);
            try (TrainingEngine engine = builder.build()) {
                List<Map<String, float[]>> weights = new ArrayList<>();
                double[] losses = new double[STEPS - firstStep + 1];
                for (int step = firstStep; step <= STEPS; step++) {
                    TrainResult result = engine.runUntil(step);
                    losses[step - firstStep] = result.finalLoss();
                    weights.add(trainable(engine, 0));
                    // every further replica holds exactly the primary's values after the step
                    for (int k = 1; k < replicas; k++) {
                        Map<String, float[]> copy = trainable(engine, k);
                        for (Map.Entry<String, float[]> e : weights.get(weights.size() - 1).entrySet()) {
                            assertArrayEquals(e.getValue(), copy.get(e.getKey()), 0f,
                                    "replica " + k + " " + e.getKey() + " after step " + step);
                        }
                    }
                }
                return new Run(losses, weights);
            }
        }
    }

    private static Map<String, float[]> trainable(TrainingEngine engine, int replica) {
        Map<String, float[]> out = new TreeMap<>();
        for (Map.Entry<String, Parameter> e : engine.getTrainableParameters().entrySet()) {
            out.put(e.getKey(), engine.replicas().copyOf(replica, e.getValue()).toFloatArray());
        }
        return out;
    }

    private static void assertClose(Run expected, Run actual, String what) {
        assertClose(expected, actual, what, TOLERANCE);
    }

    private static void assertClose(Run expected, Run actual, String what, double tolerance) {
        assertEquals(expected.losses().length, actual.losses().length);
        for (int step = 0; step < expected.losses().length; step++) {
            assertEquals(expected.losses()[step], actual.losses()[step], tolerance, what + " loss of step " + (step + 1));
            Map<String, float[]> w = expected.weightsAfterStep().get(step);
            assertEquals(w.keySet(), actual.weightsAfterStep().get(step).keySet());
            for (Map.Entry<String, float[]> e : w.entrySet()) {
                float[] expectedValues = e.getValue();
                float[] actualValues = actual.weightsAfterStep().get(step).get(e.getKey());
                for (int i = 0; i < expectedValues.length; i++) {
                    // absolute below 1, relative above (LoRA-Pro SGD's first steps grow A to about 3)
                    assertEquals(expectedValues[i], actualValues[i], tolerance * Math.max(1, Math.abs(expectedValues[i])),
                            what + " " + e.getKey() + "[" + i + "] after step " + (step + 1));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Method.class, names = {"LORA", "LORA_PRO", "FULL", "LORA_PRO_SGD"})
    void twoReplicasTrainLikeOneOnTheSameGlobalBatch(Method method) {
        Run one = train(method, "one", 2, 1, false);
        Run two = train(method, "two", 1, 2, false);
        assertClose(one, two, method + " two replicas", method == Method.LORA_PRO_SGD ? SGD_TOLERANCE : TOLERANCE);
        // the runs did train: the loss moved and the weights changed between the first and the last step
        assertNotEquals(one.losses()[0], one.losses()[STEPS - 1]);
        String name = one.weightsAfterStep().get(0).keySet().iterator().next();
        assertTrue(maxDifference(one.weightsAfterStep().get(0).get(name),
                one.weightsAfterStep().get(STEPS - 1).get(name)) > 1e-4, name + " did not move");
    }

    @Test
    void float16FrozenWeightsWithLayerRecomputeTrainLikeOneReplica() {
        Run one = train(Method.LORA_PRO, "fp16-one", 2, 1, false, true, 1, null);
        Run two = train(Method.LORA_PRO, "fp16-two", 1, 2, false, true, 1, null);
        assertClose(one, two, "fp16 two replicas");
    }

    @Test
    void aRunOnTwoReplicasResumesOnOne() {
        Run whole = train(Method.LORA_PRO, "whole", 1, 2, false);
        train(Method.LORA_PRO, "split", 1, 2, false, false, 1, null).losses();
        // the first run wrote a checkpoint at every step; resume after step 2 on one replica, the same
        // micro-batch accumulated twice as often
        Run resumed = train(Method.LORA_PRO, "resumed", 1, 1, false, false, 3,
                TrainingEngine.checkpointDir(tmp.resolve("split"), 2));
        Run wholeTail = new Run(java.util.Arrays.copyOfRange(whole.losses(), 2, STEPS),
                whole.weightsAfterStep().subList(2, STEPS));
        assertClose(wholeTail, resumed, "resumed on one replica");
    }

    @Test
    void replicasOnThreadsTrainLikeReplicasInTurn() {
        Run inTurn = train(Method.LORA_PRO, "turn", 1, 2, false);
        Run threaded = train(Method.LORA_PRO, "threads", 1, 2, true);
        assertClose(inTurn, threaded, "threaded replicas");
    }

    /**
     * Threaded replicas run their first passes in turn: the shared blocks initialize in their first
     * forward, and two threads doing so at once corrupted a block's lists (an index out of bounds in
     * DJL's AbstractBaseBlock, seen once on Java 25).
     */
    @Test
    void threadedReplicasRunTheirFirstPassesInTurn() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 11);
            try (DataParallel two = DataParallel.of(model, manager, Collections.nCopies(2, Device.cpu()), true)) {
                List<List<Batch>> slices = two.split(List.of(Batch.collate(train.subList(0, 2), 0)));
                Thread caller = Thread.currentThread();
                for (int call = 0; call < 2; call++) {
                    List<Thread> ran = Collections.synchronizedList(new ArrayList<>());
                    try (NDManager step = manager.newSubManager()) {
                        two.runReplicas(step, slices, (store, replicaManager, replicaSlices) -> {
                            ran.add(Thread.currentThread());
                            return 0;
                        });
                    }
                    assertEquals(2, ran.size());
                    if (call == 0) {
                        assertEquals(List.of(caller, caller), ran, "the first passes run in turn on the caller");
                    } else {
                        assertFalse(ran.contains(caller), "later passes run on the replicas' threads");
                    }
                }
            }
        }
    }

    @Test
    void fourReplicasWithUnevenSlicesTrainLikeOne() {
        // micro-batch 1 on four replicas = passes of 4; against one replica with passes of 4. With 14
        // examples the fourth step, the epoch's last, has 2: replicas 1 and 3 get none
        train = TinyModels.copyPlusOne(14, VOCAB, 3);
        Run one = train(Method.LORA, "one4", 4, 1, false);
        Run four = train(Method.LORA, "four", 1, 4, false);
        assertClose(one, four, "four replicas");
    }

    /** Replicas that fail part way (here at a parameter that has no array) free the copies made so far. */
    @Test
    void aFailedReplicaFreesTheCopiesMadeBeforeIt() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            Linear dense = Linear.builder().setUnits(8).build();
            dense.initialize(manager, DataType.FLOAT32, new Shape(2, 8));
            SequentialBlock model = new SequentialBlock()
                    .add(dense)
                    .add(Linear.builder().setUnits(4).build());   // never initialized
            int before = manager.getManagedArrays().size();
            assertThrows(UninitializedParameterException.class,
                    () -> DataParallel.of(model, manager, Collections.nCopies(2, Device.cpu()), false));
            assertEquals(before, manager.getManagedArrays().size(), "copies of the initialized layer left behind");
        }
    }

    @Test
    void splitGivesEveryExampleOnceAndThePrimaryAlwaysSome() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 11);
            try (DataParallel four = DataParallel.of(model, manager, Collections.nCopies(4, Device.cpu()), false)) {
                Batch five = Batch.collate(train.subList(0, 5), 0);
                Batch two = Batch.collate(train.subList(0, 2), 0);
                List<List<Batch>> slices = four.split(List.of(five, two));
                int[][] expected = {{2, 1}, {1}, {1, 1}, {1}};
                long[] ids = five.inputIds();
                int row = 0;
                for (int i = 0; i < 4; i++) {
                    assertEquals(expected[i].length, slices.get(i).size(), "replica " + i);
                    assertEquals(expected[i][0], slices.get(i).get(0).batchSize(), "replica " + i);
                    // the five-example batch's rows, in order, each once
                    long[] got = slices.get(i).get(0).inputIds();
                    assertArrayEquals(java.util.Arrays.copyOfRange(ids, row * five.seqLength(),
                            (row + expected[i][0]) * five.seqLength()), got, "replica " + i);
                    row += expected[i][0];
                }
                assertEquals(1, slices.get(0).get(1).batchSize());
                assertEquals(1, slices.get(2).get(1).batchSize());
            }
        }
    }

    @Test
    void copiesAreFreedWhenTheEngineCloses() {
        int[] live = new int[2];
        for (int replicas = 1; replicas <= 2; replicas++) {
            try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
                LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 11);
                int steps;
                try (TrainingEngine engine = TrainingEngine.builder()
                        .setTask(new CausalLmTask(model))
                        .setConfig(config(Method.LORA_PRO, tmp.resolve("free" + replicas), 2 / replicas).toBuilder()
                                .optMaxSteps(12).build())
                        .setManager(manager)
                        .setTrainExamples(train)
                        .optDevices(Collections.nCopies(replicas, Device.cpu()))
                        .build()) {
                    engine.runUntil(3);
                    steps = manager.getManagedArrays().size();
                    engine.runUntil(12);
                    assertEquals(steps, manager.getManagedArrays().size(),
                            replicas + " replicas: live arrays grew between step 3 and step 12");
                }
                live[replicas - 1] = manager.getManagedArrays().size();
            }
        }
        assertEquals(live[0], live[1], "arrays left after closing an engine with two replicas vs one");
    }

    @Test
    void aGlobalBatchThatDoesNotSplitIsRefusedNamingTheField() {
        InvalidFieldException e = refusedBuild(config(Method.LORA, tmp.resolve("bad"), 2),
                Collections.nCopies(3, Device.cpu()));
        assertEquals("global_batch", e.field());
        assertEquals("global_batch 4 must be a multiple of micro_batch 2 x 3 devices (= 6)", e.getMessage());
    }

    /** bf16 moments on a GPU that the config could not see (a device list): refused before anything trains. */
    @Test
    void bf16MomentsOnAGpuOfTheDeviceListAreRefusedNamingTheField() {
        InvalidFieldException e = refusedBuild(config(Method.LORA_PRO, tmp.resolve("bf16"), 2).toBuilder()
                .optStateDType(ai.lorapro.optim.StateDType.BF16).build(), List.of(Device.cpu(), Device.gpu(0)));
        assertEquals("state_dtype", e.field());
        assertTrue(e.getMessage().contains("runs on the CPU only"), e.getMessage());
    }

    /** What building an engine of {@code config} on {@code devices} throws. */
    private InvalidFieldException refusedBuild(TrainConfig config, List<Device> devices) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = TinyModels.model(manager, VOCAB, 11);
            return assertThrows(InvalidFieldException.class, () -> TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(config)
                    .setManager(manager)
                    .setTrainExamples(train)
                    .optDevices(devices)
                    .build());
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }
}
