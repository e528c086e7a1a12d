package ai.lorapro.lora;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.optim.LoraProAdamW;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A model built as the README builds it, a DJL {@code SequentialBlock} of {@link LoraLinear}s, is
 * seen the same way by injection, the optimizer, adapters and merging (they used to see only
 * Hugging Face style blocks, except the optimizer).
 */
class PlainDjlContainerTest {

    @TempDir Path tmp;

    private static SequentialBlock model() {
        return new SequentialBlock()
                .add(LoraLinear.builder().setInFeatures(16).setOutFeatures(32).build())
                .add(Activation::relu)
                .add(LoraLinear.builder().setInFeatures(32).setOutFeatures(8).build());
    }

    @Test
    void injectionAdaptersOptimizerAndMergeSeeTheSameLayers() throws IOException {
        LoraConfig config = LoraConfig.builder().setR(4).setAlpha(8).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            SequentialBlock net = model();
            net.initialize(manager, DataType.FLOAT32, new Shape(2, 16));
            List<String> adapted = LoraInjector.inject(net, config);
            assertEquals(2, adapted.size(), adapted.toString());
            assertEquals(adapted, List.copyOf(LoraInjector.adaptedLayers(net).keySet()));
            try (LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                    .addLoraLayers(net).build()) {
                assertEquals(adapted, List.copyOf(optimizer.getPairs().keySet()));
            }
            // B = 0 at the start: give it values so that the adapter changes the output
            for (LoraLinear layer : LoraInjector.adaptedLayers(net).values()) {
                layer.getLoraB().getArray().addi(0.1f);
            }
            NDArray x = manager.randomNormal(new Shape(2, 16));
            float[] adaptedOut = forward(net, x);

            Path file = Files.writeString(tmp.resolve("a-file"), "x");
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> PeftAdapter.save(net, file, null, null));
            assertTrue(e.getMessage().contains("it is a file"), e.getMessage());
            PeftAdapter.save(net, tmp.resolve("adapter"), null, null);
            SequentialBlock fresh = model();
            fresh.initialize(manager, DataType.FLOAT32, new Shape(2, 16));
            // the same base weights, then the saved adapter
            List<LoraLinear> from = linears(net);
            List<LoraLinear> to = linears(fresh);
            for (int i = 0; i < from.size(); i++) {
                to.get(i).getWeight().getArray().set(from.get(i).getWeight().getArray().toFloatArray());
            }
            assertEquals(adapted, PeftAdapter.load(tmp.resolve("adapter"), fresh));
            assertArrayEquals(adaptedOut, forward(fresh, x), 1e-6f);

            LoraInjector.mergeAll(net);
            assertTrue(LoraInjector.adaptedLayers(net).values().stream().allMatch(LoraLinear::isMerged));
            assertArrayEquals(adaptedOut, forward(net, x), 1e-5f);
        }
    }

    private static List<LoraLinear> linears(SequentialBlock net) {
        return ModuleTree.namedModules(net).values().stream().filter(b -> b instanceof LoraLinear)
                .map(b -> (LoraLinear) b).toList();
    }

    private static float[] forward(SequentialBlock net, NDArray x) {
        return net.forward(new ParameterStore(x.getManager(), false), new NDList(x), false).singletonOrThrow()
                .toFloatArray();
    }
}
