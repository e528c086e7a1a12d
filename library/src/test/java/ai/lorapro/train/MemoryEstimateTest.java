package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.lorapro.models.common.RandomWeights;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaFamily;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.optim.StateDType;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

/** The start-up memory estimate against the exact bytes a small model's run holds. */
class MemoryEstimateTest {

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

    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource({"FULL, false, FP32", "LORA, false, FP32", "LORA_PRO, false, FP32", "LORA_PRO_EFFICIENT, true, FP32",
        "LORA_PRO_SGD, true, FP32", "LORA_PRO, true, FP32", "LORA_PRO, false, BF16"})
    void exactPartsMatchTheBytesOfARun(Method method, boolean fp16, StateDType stateDType) {
        LlamaConfig modelConfig = TinyModels.config(VOCAB);
        TrainConfig config = TrainConfig.builder().optMethod(method).optR(4).optAlpha(8).optLr(0.01f)
                .optMaxSteps(2).optGlobalBatch(4).optMicroBatch(4).optMaxSeqLength(16).optFp16Frozen(fp16)
                .optStateDType(stateDType)
                .optDevice(DeviceChoice.CPU).optLogInterval(100).setOutputDir(tmp).build();
        MemoryEstimate estimate = MemoryEstimate.of(new LlamaFamily.Architecture(modelConfig), config);
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = new LlamaForCausalLM(modelConfig);
            RandomWeights.initialize(model, manager, fp16 ? DataType.FLOAT16 : DataType.FLOAT32, 7, 0.05f);
            try (TrainingEngine engine = TrainingEngine.builder().setTask(new CausalLmTask(model)).setConfig(config)
                    .setManager(manager).setTrainExamples(TinyModels.copyPlusOne(8, VOCAB, 1))
                    .build()) {
                engine.runUntil(1);
                long base = 0;
                long trained = 0;
                for (Parameter p : ModuleTree.namedParameters(model).values()) {
                    NDArray a = p.getArray();
                    long bytes = a.getShape().size() * a.getDataType().getNumOfBytes();
                    if (p.requiresGradient()) {
                        trained += bytes;
                    }
                    if (!p.getName().startsWith("lora_")) {
                        base += bytes;
                    }
                }
                assertEquals(base, estimate.baseWeightBytes(), "base weights");
                assertEquals(method.usesAdapters() ? trained : 0, estimate.adapterBytes(), "adapters");
                assertEquals(trained, estimate.gradientBytes(), "gradients");
                assertEquals(engine.getOptimizer().stateBytes(), estimate.optimizerStateBytes(), "optimizer state");
                assertTrue(estimate.activationBytes() > 0);
                assertEquals(estimate.baseWeightBytes() + estimate.adapterBytes() + estimate.gradientBytes()
                        + estimate.optimizerStateBytes() + estimate.activationBytes(), estimate.totalBytes());
            }
        }
    }
}
