package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Dynamic loss scaling: halve on overflow, double after the growth interval, off when disabled. */
class LossScalerTest {

    @Test
    void halvesOnOverflowAndGrowsAfterTheIntervalOfGoodSteps() {
        LossScaler scaler = new LossScaler(true, 1024, 3);
        scaler.onOverflow();
        assertEquals(512, scaler.scale());
        scaler.onGoodStep();
        scaler.onGoodStep();
        assertEquals(512, scaler.scale());
        scaler.onOverflow();
        assertEquals(256, scaler.scale());
        assertEquals(0, scaler.goodSteps());
        for (int i = 0; i < 3; i++) {
            scaler.onGoodStep();
        }
        assertEquals(512, scaler.scale());
        assertEquals(0, scaler.goodSteps());
    }

    @Test
    void disabledScalerStaysAtOne() {
        LossScaler scaler = new LossScaler(false, 1024, 1);
        assertFalse(scaler.isEnabled());
        scaler.onOverflow();
        scaler.onGoodStep();
        scaler.onGoodStep();
        assertEquals(1, scaler.scale());
    }

    @Test
    void restoreTakesTheSavedState() {
        LossScaler scaler = new LossScaler(true, 65536, 2000);
        scaler.restore(128, 7);
        assertEquals(128, scaler.scale());
        assertEquals(7, scaler.goodSteps());
        assertTrue(scaler.isEnabled());
    }
}
