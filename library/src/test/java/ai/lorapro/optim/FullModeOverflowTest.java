package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.training.tracker.Tracker;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * LoRA-Pro AdamW checks what its moments take before they take it: a finite gradient whose square
 * (or product) overflows float32 must not leave an infinite moment behind.
 */
class FullModeOverflowTest extends ManagedTest {

    /**
     * Well-conditioned factors, one ordinary step, then LoRA gradients of 1e22 (finite, so the
     * engine hands them over): g~ is finite but g~^2 overflows float32 in the second moment; or of
     * 1e30, whose g~ overflows too. The step must be skipped with factors, moments and t as they
     * were, in full mode on the fused and the tensor path and in efficient mode, whichever way the
     * optimizer is driven.
     */
    @Test
    void aGradientWhoseSquareOverflowsTouchesNeitherFactorsNorMoments() {
        for (int kind = 0; kind < 3; kind++) {
            for (float scale : new float[] {1e22f, 1e30f}) {
                for (boolean engine : new boolean[] {true, false}) {
                    assertOverflowIsSkipped(kind, scale, engine);
                }
            }
        }
    }

    /** {@code kind}: 0 full mode, fused step; 1 full mode, tensor step; 2 efficient mode. */
    private void assertOverflowIsSkipped(int kind, float scale, boolean engine) {
        String what = new String[] {"fused", "tensor", "efficient"}[kind] + " x" + scale
                + (engine ? ", engine path" : ", DJL update");
        PairAndHead f = new PairAndHead(21);
        LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                .optFusedCpuStep(kind == 0)
                .optMode(kind == 2 ? LoraProAdamW.Mode.EFFICIENT : LoraProAdamW.Mode.FULL)
                .addLoraPair("layer", f.a, f.b, 2f).build();
        Random rng = new Random(22);
        step(optimizer, f, random(rng, R, N), random(rng, M, R), engine);
        float[] a1 = f.a.getArray().toFloatArray();
        float[] b1 = f.b.getArray().toFloatArray();
        Map<String, float[]> moments = moments(optimizer);

        step(optimizer, f, random(rng, R, N).muli(scale), random(rng, M, R).muli(scale), engine);
        assertEquals(1, optimizer.getSkippedSteps(), what);
        assertArrayEquals(a1, f.a.getArray().toFloatArray(), what + ": A changed");
        assertArrayEquals(b1, f.b.getArray().toFloatArray(), what + ": B changed");
        Map<String, float[]> after = moments(optimizer);
        assertEquals(moments.keySet(), after.keySet(), what);
        for (String key : moments.keySet()) {
            assertArrayEquals(moments.get(key), after.get(key), what + ": " + key + " changed");
        }
        assertEquals(1, optimizer.exportState(manager).getSteps().get("layer"), what + ": t");

        // and the next ordinary step trains again
        step(optimizer, f, random(rng, R, N), random(rng, M, R), engine);
        assertEquals(2, optimizer.exportState(manager).getSteps().get("layer"), what + ": t");
        for (float[] moment : moments(optimizer).values()) {
            for (float x : moment) {
                assertTrue(Float.isFinite(x), what + ": a moment is not finite");
            }
        }
        optimizer.close();
    }

    /**
     * The one check that must follow the moment update: Adam's direction, projected and adjusted,
     * before it touches the factors. Finite moments keep u bounded, so only an extreme factor gets
     * there: here A of about 1e38 with B = 0, whose u A^T overflows. The factors stay as they were;
     * the moments took the step, so t counts it.
     */
    @Test
    void aDirectionThatOverflowsAfterTheMomentsLeavesTheFactorsAndCountsT() {
        for (boolean fused : new boolean[] {true, false}) {
            String what = fused ? "fused" : "tensor";
            PairAndHead f = new PairAndHead(23);
            LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                    .optFusedCpuStep(fused).addLoraPair("layer", f.a, f.b, 2f).build();
            Random rng = new Random(24);
            step(optimizer, f, random(rng, R, N), random(rng, M, R), true);
            f.a.getArray().muli(1e38f);
            f.b.getArray().muli(0f);
            float[] a1 = f.a.getArray().toFloatArray();
            float[] b1 = f.b.getArray().toFloatArray();
            Map<String, float[]> moments = moments(optimizer);

            step(optimizer, f, random(rng, R, N), random(rng, M, R), true);
            assertEquals(1, optimizer.getSkippedSteps(), what);
            assertArrayEquals(a1, f.a.getArray().toFloatArray(), what + ": A changed");
            assertArrayEquals(b1, f.b.getArray().toFloatArray(), what + ": B changed");
            assertFalse(java.util.Arrays.equals(moments.get("layer.exp_avg"), moments(optimizer).get("layer.exp_avg")),
                    what + ": the moments did not take the step");
            assertEquals(2, optimizer.exportState(manager).getSteps().get("layer"), what + ": t");
            optimizer.close();
        }
    }

    private static void step(LoraProAdamW optimizer, PairAndHead f, NDArray gA, NDArray gB, boolean engine) {
        if (engine) {
            optimizer.update(f.a.getId(), f.a.getArray(), gA, 1e-2f);
            optimizer.update(f.b.getId(), f.b.getArray(), gB, 1e-2f);
        } else {
            optimizer.update(f.a.getId(), f.a.getArray(), gA);
            optimizer.update(f.b.getId(), f.b.getArray(), gB);
        }
    }

    private Map<String, float[]> moments(LoraProAdamW optimizer) {
        Map<String, float[]> out = new LinkedHashMap<>();
        optimizer.exportState(manager).getTensors().forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
