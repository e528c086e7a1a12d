package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.SequentialBlock;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;

/** The engine injects its adapters itself, and says so to a user who already did. */
class MethodSetupTest {

    private static SequentialBlock model(NDManager manager) {
        SequentialBlock net = new SequentialBlock()
                .add(LoraLinear.builder().setInFeatures(8).setOutFeatures(8).build())
                .add(LoraLinear.builder().setInFeatures(8).setOutFeatures(4).build());
        net.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
        return net;
    }

    @Test
    void aModelWhoseAdaptersAreInjectedOrMergedIsRefusedNamingTheEngine() {
        TrainConfig config = TrainConfig.builder().setOutputDir(Path.of("out")).optR(2).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            assertEquals(2, MethodSetup.prepare(model(manager), config).size());

            SequentialBlock adapted = model(manager);
            LoraInjector.inject(adapted, LoraConfig.builder().setR(2).build());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> MethodSetup.prepare(adapted, config));
            assertTrue(e.getMessage().contains("the training engine injects the adapters of TrainConfig.lora() itself"),
                    e.getMessage());

            // a merged adapter would leave nothing that needs a gradient: refused as well, for full too
            LoraInjector.mergeAll(adapted);
            TrainConfig full = TrainConfig.builder().setOutputDir(Path.of("out")).optMethod(Method.FULL).build();
            e = assertThrows(IllegalStateException.class, () -> MethodSetup.prepare(adapted, full));
            assertTrue(e.getMessage().contains("merged into its weight"), e.getMessage());
        }
    }
}
