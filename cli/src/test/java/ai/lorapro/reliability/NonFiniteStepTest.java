package ai.lorapro.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.Scalars;
import ai.lorapro.optim.OptimizerState;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TinyModels;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainTask;
import ai.lorapro.train.TrainerState;
import ai.lorapro.train.TrainingEngine;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * NaN and infinity injected into real training through the engine: a NaN loss, an infinite loss
 * and NaN gradients under a finite loss. Each poisoned step is skipped and counted, leaves every
 * trained value and every optimizer moment and step count bit-identical, halves the loss scale
 * when fp16 loss scaling is on, and training goes on afterwards.
 */
class NonFiniteStepTest {

    private static final int VOCAB = 24;
    private static final double INITIAL_SCALE = 64;

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

    /** The faults injected into the loss of one micro-batch. */
    private enum Fault { NONE, NAN_LOSS, INFINITE_LOSS, NAN_GRADIENT }

    /** Steps 2, 4 and 6 (micro-batch calls 3, 7, 11 with two micro-batches a step) are poisoned. */
    private static Fault faultOfCall(int call) {
        switch (call) {
            case 3: return Fault.NAN_LOSS;
            case 7: return Fault.INFINITE_LOSS;
            case 11: return Fault.NAN_GRADIENT;
            default: return Fault.NONE;
        }
    }

    /** The causal-LM task with faults injected into chosen training micro-batches. */
    private static final class FaultyTask implements TrainTask {
        private final CausalLmTask inner;
        private int calls;

        FaultyTask(CausalLmTask inner) {
            this.inner = inner;
        }

        @Override
        public Block model() {
            return inner.model();
        }

        @Override
        public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
            NDArray[] parts = inner.lossSumAndCount(store, manager, batch, training);
            if (!training) {
                return parts;
            }
            NDArray loss = parts[0];
            switch (faultOfCall(++calls)) {
                case NAN_LOSS:
                    return new NDArray[] {Scalars.mul(loss, Double.NaN), parts[1]};
                case INFINITE_LOSS:
                    return new NDArray[] {Scalars.mul(loss, Double.POSITIVE_INFINITY), parts[1]};
                case NAN_GRADIENT: {
                    // 0 * sqrt(loss - loss) adds 0 to the loss, but its gradient is 0 * inf = NaN
                    NDArray zero = Scalars.mul(loss.sub(loss).sqrt(), 0);
                    return new NDArray[] {loss.add(zero), parts[1]};
                }
                default:
                    return parts;
            }
        }
    }

    /** Trained values, optimizer moments and step counts by name. */
    private record Snapshot(Map<String, float[]> values, Map<String, Integer> steps) {}

    private static Snapshot snapshot(TrainingEngine engine, NDManager manager) {
        Map<String, float[]> values = new TreeMap<>();
        engine.getTrainableParameters().forEach((k, p) -> values.put("param " + k, p.getArray().toFloatArray()));
        Map<String, Integer> steps;
        try (NDManager temp = manager.newSubManager()) {
            OptimizerState s = engine.getOptimizer().exportState(temp);
            s.getTensors().forEach((k, v) -> values.put("state " + k, v.toFloatArray()));
            steps = new TreeMap<>(s.getSteps());
        }
        return new Snapshot(values, steps);
    }

    private static void assertBitIdentical(Snapshot expected, Snapshot actual, String what) {
        assertEquals(expected.values().keySet(), actual.values().keySet(), what);
        expected.values().forEach((k, v) -> {
            float[] a = actual.values().get(k);
            assertEquals(v.length, a.length, what + " " + k);
            for (int i = 0; i < v.length; i++) {
                assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(a[i]), what + " " + k + "[" + i + "]");
            }
        });
        assertEquals(expected.steps(), actual.steps(), what);
    }

    @ParameterizedTest(name = "fp16 frozen = {0}")
    @ValueSource(booleans = {false, true})
    void poisonedStepsAreSkippedWithStateUnchangedAndTrainingGoesOn(boolean fp16) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = new LlamaForCausalLM(TinyModels.config(VOCAB));
            RandomWeights.initialize(model, manager, fp16 ? DataType.FLOAT16 : DataType.FLOAT32, 7, 0.05f);
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.LORA_PRO).optR(4).optAlpha(8).optLr(0.01f).optMaxSteps(8)
                    .optGlobalBatch(8).optMicroBatch(4).optWarmupRatio(0).optFp16Frozen(fp16)
                    .optDevice(DeviceChoice.CPU).optLogInterval(100).setOutputDir(tmp).build();
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new FaultyTask(new CausalLmTask(model))).setConfig(config).setManager(manager)
                    .setTrainExamples(TinyModels.copyPlusOne(64, VOCAB, 1))
                    // no growth within the run, so every change of the scale is a back-off
                    .optLossScaling(INITIAL_SCALE, 1000).build()) {
                long skipped = 0;
                // slf4j-simple prints to whatever System.err is at the time of each call
                java.io.PrintStream err = System.err;
                java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
                System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
                try {
                    for (int step = 1; step <= 8; step++) {
                        Snapshot before = snapshot(engine, manager);
                        TrainResult result = engine.runUntil(step);
                        Snapshot after = snapshot(engine, manager);
                        boolean poisoned = step == 2 || step == 4 || step == 6;
                        if (poisoned) {
                            skipped++;
                            assertBitIdentical(before, after, "step " + step);
                        } else {
                            assertTrue(Double.isFinite(result.finalLoss()), "step " + step + " loss " + result.finalLoss());
                        }
                        assertEquals(skipped, result.skippedSteps(), "step " + step);
                        if (step == 2) {
                            assertTrue(Double.isNaN(result.finalLoss()));
                        } else if (step == 4) {
                            assertEquals(Double.POSITIVE_INFINITY, result.finalLoss());
                        } else if (step == 6) {
                            // the loss is finite: only the gradients betray the fault
                            assertTrue(Double.isFinite(result.finalLoss()), "step 6 loss " + result.finalLoss());
                        }
                        TrainerState state = TrainerState.read(result.checkpoint());
                        assertEquals(skipped, state.skippedSteps());
                        double expectedScale = fp16 ? INITIAL_SCALE / Math.pow(2, skipped) : 1;
                        assertEquals(expectedScale, state.lossScale(), "loss scale after step " + step);
                        // the optimizer counts only the steps it took
                        int taken = (int) (step - skipped);
                        after.steps().values().forEach(n -> assertEquals(taken, n, "optimizer steps"));
                    }
                } finally {
                    System.setErr(err);
                    err.print(log.toString(java.nio.charset.StandardCharsets.UTF_8));
                }
                String logged = log.toString(java.nio.charset.StandardCharsets.UTF_8);
                for (String line : new String[] {"step 2: loss NaN", "step 4: loss Infinity", "step 6: loss "}) {
                    assertTrue(logged.contains(line), "not logged: " + line + " in " + logged);
                }
                assertEquals(3, logged.split("step skipped", -1).length - 1, logged);
                double[] losses = engine.runUntil(8).losses();
                assertEquals(0, losses.length, "the run was already at its last step");
            }
        }
    }
}
