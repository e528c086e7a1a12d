package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidFieldException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.optim.OptimizerConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.optim.XMode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

class TrainConfigTest {

    private static TrainConfig.Builder base() {
        return TrainConfig.builder().setOutputDir(Path.of("out"));
    }

    @Test
    void defaultsFollowThePaperSetup() {
        TrainConfig c = base().build();
        assertEquals(Method.LORA_PRO, c.method());
        assertEquals(32, c.batch().globalBatch());
        assertEquals(32 / c.batch().microBatch(), c.batch().gradientAccumulation());
        assertEquals(0.03, c.schedule().warmupRatio());
        // the command line's float values, widened
        assertEquals((double) 0.9f, c.optimizer().beta1());
        assertEquals((double) 0.999f, c.optimizer().beta2());
        assertEquals(0f, c.optimizer().weightDecay());
        assertEquals(1.0, c.run().clipNorm());
        assertEquals(XMode.SYLVESTER, c.optimizer().xMode());
        assertEquals(DeviceChoice.AUTO, c.run().device());
        assertEquals(Set.of(LoraConfig.ALL_LINEAR), c.lora().getTargetModules());
        assertEquals(c, c.toBuilder().build());
    }

    @Test
    void accumulationAndTotalSteps() {
        TrainConfig c = base().optGlobalBatch(32).optMicroBatch(8).optEpochs(3).build();
        assertEquals(4, c.batch().gradientAccumulation());
        assertEquals(3 * 4, c.batch().totalSteps(100)); // ceil(100 / 32) = 4 steps per epoch
        assertEquals(3, c.batch().totalSteps(32 * 1));
        assertEquals(7, c.toBuilder().optMaxSteps(7).build().batch().totalSteps(100));
        // 2e9 epochs of 4 steps: refused by field, not cut to 2^31 - 1 steps with the schedule spread over those
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> c.toBuilder().optEpochs(2_000_000_000).build().batch().totalSteps(100));
        assertEquals("epochs", e.field());
        assertEquals(Integer.MAX_VALUE, c.toBuilder().optEpochs(Integer.MAX_VALUE).build().batch().totalSteps(1));
    }

    @Test
    void loraConfigCarriesAdapterSettingsAndTheRunsSeed() {
        TrainConfig c = base().optR(4).optAlpha(8).optRsLora(true).optSeed(7)
                .optTargetModules(List.of("q_proj", "v_proj")).build();
        LoraConfig lora = c.lora();
        assertEquals(4, lora.getR());
        assertEquals(8f / 2f, lora.getScaling(), 1e-6f);
        assertEquals(List.of("q_proj", "v_proj"), List.copyOf(lora.getTargetModules()));
        assertEquals(7, lora.getSeed());
    }

    @Test
    void errorsNameTheField() {
        assertField("output_dir", () -> TrainConfig.builder().build());
        assertField("micro_batch", () -> base().optGlobalBatch(32).optMicroBatch(5).build());
        assertField("lr", () -> base().optLr(-1).build());
        assertField("lr", () -> base().optLr(Float.NaN).build());
        assertField("min_lr", () -> base().optLr(1e-3f).optMinLr(1e-2f).build());
        assertField("r", () -> base().optR(0).build());
        assertField("alpha", () -> base().optAlpha(0).build());
        assertField("lora_dropout", () -> base().optLoraDropout(1).build());
        assertField("warmup_ratio", () -> base().optWarmupRatio(2).build());
        assertField("beta2", () -> base().optBetas(0.9f, 1f).build());
        assertField("eps", () -> base().optEps(0).build());
        assertField("weight_decay", () -> base().optWeightDecay(-1).build());
        assertField("clip_norm", () -> base().optClipNorm(-1).build());
        assertField("max_steps", () -> base().optMaxSteps(0).build());
        assertField("epochs", () -> base().optEpochs(0).build());
        assertField("max_seq_length", () -> base().optMaxSeqLength(1).build());
        assertField("log_interval", () -> base().optLogInterval(0).build());
        assertField("eval_interval", () -> base().optEvalInterval(-1).build());
        assertField("checkpoint_interval", () -> base().optCheckpointInterval(-1).build());
        assertField("keep_checkpoints", () -> base().optKeepCheckpoints(-1).build());
        assertField("target_modules", () -> base().optTargetModules(List.of()).build());
        assertField("target_modules", () -> base().optTargetModules(List.of(" ")).build());
        assertField("allowed_resume_changes", () -> base().optAllowedResumeChanges(List.of("r")).build());
        assertField("fp16_frozen", () -> base().optMethod(Method.FULL).optFp16Frozen(true).build());
        assertField("state_dtype", () -> base().optMethod(Method.LORA).optStateDType(StateDType.BF16).build());
        assertField("state_dtype", () -> base().optDevice(DeviceChoice.GPU).optStateDType(StateDType.BF16).build());
        assertEquals(StateDType.BF16, base().optStateDType(StateDType.BF16).build().optimizer().stateDType());
        assertEquals(Set.of("lr", "all"), base().optAllowedResumeChanges(List.of("lr", "all")).build().run()
                .allowedResumeChanges());
    }

    @Test
    void messagesNameTheFieldAndNoCommandLineOption() {
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> base().optGlobalBatch(32).optMicroBatch(5).build());
        assertEquals("micro_batch 5 must divide global_batch 32", e.getMessage());
        assertEquals("5 must divide global_batch 32", e.problem());
        assertFalse(e.getMessage().contains("--"), e.getMessage());
    }

    @Test
    void recordsValidateWhenBuiltDirectly() {
        assertField("global_batch", () -> new BatchConfig(0, 1, 16, 1, -1));
        assertField("beta1", () -> OptimizerConfig.DEFAULTS.withBetas(-0.1, 0.9));
        assertField("lr", () -> new ScheduleConfig(0, 0, 0));
        assertField("output_dir", () -> RunConfig.defaults(null));
        assertEquals(BatchConfig.DEFAULTS, base().build().batch());
        assertEquals(ScheduleConfig.DEFAULTS, base().build().schedule());
        assertEquals(RunConfig.defaults(Path.of("out")), base().build().run());
    }

    private static void assertField(String field, Executable build) {
        InvalidFieldException e = assertThrows(InvalidFieldException.class, build);
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + " "), e.getMessage());
    }

    @Test
    void methodIdsRoundTrip() {
        for (Method m : Method.values()) {
            assertEquals(m, Method.fromId(m.id()));
        }
        assertEquals("lora-pro-efficient", Method.LORA_PRO_EFFICIENT.id());
        InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> Method.fromId("qlora"));
        assertEquals("method", e.field());
        assertTrue(e.getMessage().contains("lora-pro-sgd"), e.getMessage());
        assertFalse(Method.FULL.usesAdapters());
    }
}
