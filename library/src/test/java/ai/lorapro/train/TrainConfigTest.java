package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.optim.XMode;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

class TrainConfigTest {

    private static TrainConfig.Builder base() {
        return TrainConfig.builder().setOutputDir(Path.of("out"));
    }

    @Test
    void defaultsFollowThePaperSetup() {
        TrainConfig c = base().build();
        assertEquals(Method.LORA_PRO, c.getMethod());
        assertEquals(32, c.getGlobalBatch());
        assertEquals(32 / c.getMicroBatch(), c.getGradientAccumulation());
        assertEquals(0.03, c.getWarmupRatio());
        assertEquals(0.9f, c.getBeta1());
        assertEquals(0.999f, c.getBeta2());
        assertEquals(0f, c.getWeightDecay());
        assertEquals(1.0, c.getClipNorm());
        assertEquals(XMode.SYLVESTER, c.getXMode());
        assertEquals(DeviceChoice.AUTO, c.getDevice());
        assertEquals(List.of(LoraConfig.ALL_LINEAR), c.getTargetModules());
    }

    @Test
    void accumulationAndTotalSteps() {
        TrainConfig c = base().optGlobalBatch(32).optMicroBatch(8).optEpochs(3).build();
        assertEquals(4, c.getGradientAccumulation());
        assertEquals(3 * 4, c.totalSteps(100)); // ceil(100 / 32) = 4 steps per epoch
        assertEquals(3, c.totalSteps(32 * 1));
        assertEquals(7, c.toBuilder().optMaxSteps(7).build().totalSteps(100));
    }

    @Test
    void loraConfigCarriesAdapterSettings() {
        TrainConfig c = base().optR(4).optAlpha(8).optRsLora(true)
                .optTargetModules(List.of("q_proj", "v_proj")).build();
        LoraConfig lora = c.toLoraConfig();
        assertEquals(4, lora.getR());
        assertEquals(8f / 2f, lora.getScaling(), 1e-6f);
        assertEquals(List.of("q_proj", "v_proj"), List.copyOf(lora.getTargetModules()));
        assertThrows(IllegalStateException.class,
                () -> base().optMethod(Method.FULL).build().toLoraConfig());
    }

    @Test
    void errorsNameTheOption() {
        assertMessage("--out", TrainConfig.builder());
        assertMessage("--micro-batch", base().optGlobalBatch(32).optMicroBatch(5));
        assertMessage("--lr", base().optLr(-1));
        assertMessage("--lr", base().optLr(Float.NaN));
        assertMessage("--r", base().optR(0));
        assertMessage("--warmup-ratio", base().optWarmupRatio(2));
        assertMessage("--beta2", base().optBetas(0.9f, 1f));
        assertMessage("--clip-norm", base().optClipNorm(-1));
        assertMessage("--max-steps", base().optMaxSteps(0));
        assertMessage("--max-seq-length", base().optMaxSeqLength(1));
        assertMessage("--target-modules", base().optTargetModules(List.of()));
        assertMessage("--fp16-frozen", base().optMethod(Method.FULL).optFp16Frozen(true));
        assertMessage("--state-dtype", base().optMethod(Method.LORA).optStateDType(ai.lorapro.optim.StateDType.BF16));
        assertMessage("--state-dtype", base().optDevice(DeviceChoice.GPU).optStateDType(ai.lorapro.optim.StateDType.BF16));
        assertEquals(ai.lorapro.optim.StateDType.BF16,
                base().optStateDType(ai.lorapro.optim.StateDType.BF16).build().getStateDType());
    }

    private static void assertMessage(String option, TrainConfig.Builder builder) {
        InvalidInputException e = assertThrows(InvalidInputException.class, builder::build);
        assertTrue(e.getMessage().contains(option), e.getMessage());
    }

    @Test
    void cliNamesRoundTrip() {
        for (Method m : Method.values()) {
            assertEquals(m, Method.fromCliName(m.cliName()));
        }
        assertEquals(Method.LORA_PRO_EFFICIENT, Method.fromCliName("lora-pro-efficient"));
        assertEquals(XMode.ZERO, XMode.fromString("zero"));
        assertEquals(DeviceChoice.GPU, DeviceChoice.fromCliName("gpu"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> Method.fromCliName("qlora"));
        assertTrue(e.getMessage().startsWith("--method"), e.getMessage());
        assertTrue(e.getMessage().contains("lora-pro-sgd"), e.getMessage());
        assertFalse(Method.FULL.usesAdapters());
    }
}
