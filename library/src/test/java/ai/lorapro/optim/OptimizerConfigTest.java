package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidFieldException;

import org.junit.jupiter.api.Test;

class OptimizerConfigTest {

    private static final OptimizerConfig CONFIG =
            new OptimizerConfig(0.8, 0.95, 1e-6, 0.01f, XMode.SYMMETRY, StateDType.BF16);

    @Test
    void everyFieldIsValidatedAndNamed() {
        assertEquals("beta1", assertThrows(InvalidFieldException.class,
                () -> OptimizerConfig.DEFAULTS.withBetas(1, 0.9)).field());
        assertEquals("beta2", assertThrows(InvalidFieldException.class,
                () -> OptimizerConfig.DEFAULTS.withBetas(0.9, -0.1)).field());
        assertEquals("eps", assertThrows(InvalidFieldException.class,
                () -> OptimizerConfig.DEFAULTS.withEps(Double.POSITIVE_INFINITY)).field());
        // eps sqrt(1 - beta2) would round to 0 in float32: 0 / 0 where m = v = 0
        assertEquals("eps", assertThrows(InvalidFieldException.class,
                () -> OptimizerConfig.DEFAULTS.withEps(1e-45)).field());
        assertEquals(1e-30, OptimizerConfig.DEFAULTS.withEps(1e-30).eps());
        assertEquals("scaling", assertThrows(InvalidFieldException.class, () -> new LoraPair("layer",
                pair().getLoraA(), pair().getLoraB(), Float.NaN)).field());
        assertEquals("weight_decay", assertThrows(InvalidFieldException.class,
                () -> OptimizerConfig.DEFAULTS.withWeightDecay(Float.NaN)).field());
    }

    @Test
    void buildersTakeTheRecord() {
        try (LoraProAdamW adamw = LoraProAdamW.builder().optConfig(CONFIG).addLoraPair(pair()).build()) {
            assertEquals(0.01f, adamw.getWeightDecay());
            assertEquals(XMode.SYMMETRY, adamw.getXMode());
            assertEquals(StateDType.BF16, adamw.getStateDType());
        }
        try (LoraProSgd sgd = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f)).optConfig(CONFIG)
                .addLoraPair(pair()).build()) {
            assertEquals(XMode.SYMMETRY, sgd.getXMode());
            assertEquals(0.01f, sgd.getWeightDecay());
        }
        try (PlainAdamW plain = PlainAdamW.builder().optConfig(CONFIG).build()) {
            assertEquals(0.01f, plain.getWeightDecay());
        }
        assertEquals(new AdamSettings(0.8, 0.95, 1e-6), AdamSettings.of(CONFIG));
    }

    /** A LoRA pair without arrays: all a builder needs. */
    private static LoraPair pair() {
        return new LoraPair("pair", Parameter.builder().setName("lora_A.weight").setType(Parameter.Type.WEIGHT).build(),
                Parameter.builder().setName("lora_B.weight").setType(Parameter.Type.WEIGHT).build(), 1f);
    }

    @Test
    void theBuildersNameTheFieldOfABadValue() {
        assertEquals("beta1", assertThrows(InvalidFieldException.class,
                () -> PlainAdamW.builder().optBetas(1, 0.9).build()).field());
        assertEquals("beta2", assertThrows(InvalidFieldException.class,
                () -> LoraProAdamW.builder().addLoraPair(pair()).optBetas(0.9, -0.5).build()).field());
        assertEquals("eps", assertThrows(InvalidFieldException.class,
                () -> PlainAdamW.builder().optEpsilon(0).build()).field());
        assertEquals("weight_decay", assertThrows(InvalidFieldException.class,
                () -> PlainAdamW.builder().optWeightDecay(-0.1f).build()).field());
        assertEquals("target_modules", assertThrows(InvalidFieldException.class,
                () -> ai.lorapro.lora.LoraConfig.builder().optTargetRegex("(q|v_proj")).field());
    }
}
