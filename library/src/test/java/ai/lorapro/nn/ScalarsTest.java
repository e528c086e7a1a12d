package ai.lorapro.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

/**
 * The scalar of a product must survive garbage collection until the backward pass: the test
 * collects and refills freed direct memory with NaN between the forward and the backward pass.
 */
class ScalarsTest {

    static float[] gradientAfterCollection(BiFunction<NDArray, Double, NDArray> times) {
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray w = manager.ones(new Shape(256));
            w.setRequiresGradient(true);
            try (NDManager step = manager.newSubManager();
                    GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray h = step.ones(new Shape(256)).mul(w);
                NDArray y = times.apply(h, 3.0).sum();
                List<ByteBuffer> filler = new ArrayList<>();
                for (int round = 0; round < 20; round++) {
                    System.gc();
                    for (int i = 0; i < 2000; i++) {
                        ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
                        b.putFloat(0, Float.NaN);
                        filler.add(b);
                    }
                }
                collector.backward(y);
            }
            return w.getGradient().toFloatArray();
        }
    }

    @Test
    void productWithAConstantBackPropagatesAfterGarbageCollection() {
        for (float g : gradientAfterCollection(Scalars::mul)) {
            assertEquals(3f, g);
        }
    }
}
