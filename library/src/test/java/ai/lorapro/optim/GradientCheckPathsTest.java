package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.nn.Finiteness;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Who checks a gradient for NaN and infinity: DJL's {@code update} checks each parameter's (a
 * user's own {@code Trainer} checks nothing); the engine's path, {@code update(..., lr)}, leaves it
 * to the engine, which checks the whole step once and never hands over a non-finite gradient.
 */
class GradientCheckPathsTest extends ManagedTest {

    @Test
    void onlyDjlsUpdateChecksEachGradient() {
        PairAndHead f = new PairAndHead(31);
        PlainAdamW optimizer = PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                .nameParameter("head.weight", f.head).build();
        float[] head = f.head.getArray().toFloatArray();

        optimizer.update(f.head.getId(), f.head.getArray(), manager.full(new Shape(3, 4), Float.NaN));
        assertEquals(1, optimizer.getSkippedSteps());
        assertArrayEquals(head, f.head.getArray().toFloatArray());

        // no per-parameter check, hence no device sync per parameter, on the engine's path
        NDArray nan = manager.full(new Shape(3, 4), Float.NaN);
        optimizer.update(f.head.getId(), f.head.getArray(), nan, 1e-2f);
        assertEquals(1, optimizer.getSkippedSteps());
        assertFalse(Finiteness.isAllFinite(f.head.getArray()));
        optimizer.close();
    }
}
