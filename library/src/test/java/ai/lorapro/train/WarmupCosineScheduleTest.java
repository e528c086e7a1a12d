package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;

class WarmupCosineScheduleTest {

    private static final float TOL = 1e-7f;

    private static WarmupCosineSchedule schedule(float minLr) {
        return WarmupCosineSchedule.builder().setPeakLr(0.1f).optMinLr(minLr)
                .setTotalSteps(110).optWarmupSteps(10).build();
    }

    @Test
    void warmupRisesLinearlyFromZeroToPeak() {
        WarmupCosineSchedule s = schedule(0);
        assertEquals(0f, s.valueAfter(0), TOL);
        assertEquals(0.05f, s.valueAfter(5), TOL);
        assertEquals(0.09f, s.valueAfter(9), TOL);
        assertEquals(0.1f, s.valueAfter(10), TOL);
    }

    @Test
    void cosineIsHalfAtMidpointAndMinAtEnd() {
        WarmupCosineSchedule s = schedule(0);
        assertEquals(0.05f, s.valueAfter(60), TOL);
        assertEquals(0f, s.valueAfter(110), TOL);
        assertEquals(0f, s.valueAfter(500), TOL);
        // A quarter into the decay: 0.1 * (1 + cos(pi/4)) / 2 = 0.0853553.
        assertEquals(0.0853553f, s.valueAfter(35), 1e-6f);
    }

    @Test
    void minLrIsTheFloorOfTheCosine() {
        WarmupCosineSchedule s = schedule(0.01f);
        assertEquals(0.1f, s.valueAfter(10), TOL);
        assertEquals(0.055f, s.valueAfter(60), TOL);
        assertEquals(0.01f, s.valueAfter(110), TOL);
    }

    @Test
    void djlUpdateCountIsOneBased() {
        WarmupCosineSchedule s = schedule(0);
        assertEquals(0f, s.getNewValue(1), TOL);
        assertEquals(0.1f, s.getNewValue(11), TOL);
        assertEquals(0.05f, s.getNewValue("any.param", 61), TOL);
    }

    @Test
    void defaultWarmupIsThreePercentRoundedUp() {
        WarmupCosineSchedule s = WarmupCosineSchedule.builder().setPeakLr(1f)
                .setTotalSteps(1000).build();
        assertEquals(30, s.getWarmupSteps());
        assertEquals(0f, s.getMinLr());
        WarmupCosineSchedule small = WarmupCosineSchedule.builder().setPeakLr(1f)
                .setTotalSteps(10).build();
        assertEquals(1, small.getWarmupSteps());
        assertEquals(1f, small.valueAfter(1), TOL);
    }

    @Test
    void noWarmupStartsAtPeak() {
        WarmupCosineSchedule s = WarmupCosineSchedule.builder().setPeakLr(2f)
                .setTotalSteps(4).optWarmupRatio(0).build();
        assertEquals(2f, s.valueAfter(0), TOL);
        assertEquals(1f, s.valueAfter(2), TOL);
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(InvalidInputException.class,
                () -> WarmupCosineSchedule.builder().setPeakLr(0).setTotalSteps(5).build());
        assertThrows(InvalidInputException.class,
                () -> WarmupCosineSchedule.builder().setPeakLr(1).build());
        assertThrows(InvalidInputException.class, () -> WarmupCosineSchedule.builder()
                .setPeakLr(1).setTotalSteps(5).optMinLr(2).build());
        assertThrows(InvalidInputException.class, () -> WarmupCosineSchedule.builder()
                .setPeakLr(1).setTotalSteps(5).optWarmupRatio(1.5).build());
    }
}
