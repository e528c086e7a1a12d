package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Exported optimizer state for library users: stable names only, and DJL's schedule continues. */
class ResumeStateTest extends ManagedTest {

    private Parameter parameter(String name, Random rng, int rows, int cols) {
        return trainable(name, random(rng, rows, cols));
    }

    @Test
    void stateOfAnUnnamedParameterIsNotExported() {
        Parameter head = parameter("head.weight", new Random(1), 3, 4);
        PlainAdamW adamw = PlainAdamW.builder().build();
        adamw.update(head.getId(), head.getArray(), manager.ones(new Shape(3, 4)));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> adamw.exportState(manager));
        assertTrue(e.getMessage().contains("no stable name"), e.getMessage());
    }

    @Test
    void importedEntriesThatMatchNothingAreRefused() {
        Parameter head = parameter("head.weight", new Random(1), 3, 4);
        PlainAdamW adamw = PlainAdamW.builder().nameParameter("head.weight", head).build();
        // an old-style entry under a parameter id of another process
        assertThrows(InvalidInputException.class, () -> adamw.importState(
                new OptimizerState(Map.of(), Map.of("param.uid-123-4", 2))));
        assertThrows(InvalidInputException.class, () -> adamw.importState(
                new OptimizerState(Map.of(), Map.of(DjlUpdateCounters.COUNT_PREFIX + "lm_head.weight", 2))));
    }

    /**
     * A schedule lr(t) = 0.1 / t: resumed after 3 updates in a new optimizer, the fourth update
     * must use lr(4), as the uninterrupted run does, not restart at lr(1).
     */
    @Test
    void aTrackerScheduleContinuesAfterImport() {
        Tracker schedule = t -> 0.1f / t;
        Random rng = new Random(2);
        Parameter original = parameter("w", rng, 3, 4);
        Parameter resumed = parameter("w", new Random(99), 3, 4);
        PlainAdamW first = PlainAdamW.builder().setLearningRateTracker(schedule).nameParameter("w", original).build();
        NDArray[] grads = new NDArray[4];
        for (int t = 0; t < 4; t++) {
            grads[t] = manager.randomNormal(new Shape(3, 4));
        }
        for (int t = 0; t < 3; t++) {
            first.update(original.getId(), original.getArray(), grads[t].duplicate());
        }
        resumed.getArray().set(new NDIndex("..."), original.getArray());
        PlainAdamW second = PlainAdamW.builder().setLearningRateTracker(schedule).nameParameter("w", resumed).build();
        OptimizerState state = first.exportState(manager);
        assertEquals(3, state.getSteps().get(DjlUpdateCounters.COUNT_PREFIX + "w"));
        Map<String, Integer> steps = new HashMap<>(state.getSteps());
        second.importState(new OptimizerState(state.getTensors(), steps));
        first.update(original.getId(), original.getArray(), grads[3].duplicate());
        second.update(resumed.getId(), resumed.getArray(), grads[3].duplicate());
        assertArrayEquals(original.getArray().toFloatArray(), resumed.getArray().toFloatArray(), 0f);
    }

    /** PlainAdamW steps the trainable factor of a pair alone: its state, without the frozen factor's moments, resumes. */
    @Test
    void aPairWithAFrozenFactorResumesWithoutItsMoments() {
        Random rng = new Random(5);
        Parameter a = parameter("lora_A.weight", rng, 2, 4);
        Parameter b = parameter("lora_B.weight", rng, 3, 2);
        a.freeze(true);
        assertPairStateResumes(a, b, first -> first.update(b.getId(), b.getArray(), manager.ones(new Shape(3, 2))),
                Set.of("layer.lora_B.weight.exp_avg", "layer.lora_B.weight.exp_avg_sq"));
    }

    /**
     * A factor whose first update is skipped (non-finite gradient) while its partner steps has no
     * moments yet, though the pair has a step count: that state resumes too.
     */
    @Test
    void aPairWhoseFactorWasSkippedResumes() {
        Random rng = new Random(6);
        Parameter a = parameter("lora_A.weight", rng, 2, 4);
        Parameter b = parameter("lora_B.weight", rng, 3, 2);
        assertPairStateResumes(a, b, first -> {
            first.update(a.getId(), a.getArray(), manager.ones(new Shape(2, 4)));
            first.update(b.getId(), b.getArray(), manager.full(new Shape(3, 2), Float.POSITIVE_INFINITY));
        }, Set.of("layer.lora_A.weight.exp_avg", "layer.lora_A.weight.exp_avg_sq"));
    }

    /**
     * Steps the pair (a, b) with {@code steps} on a PlainAdamW, and checks that its state holds
     * {@code arrays} and that a fresh PlainAdamW imports it.
     */
    private void assertPairStateResumes(Parameter a, Parameter b, Consumer<PlainAdamW> steps, Set<String> arrays) {
        try (PlainAdamW first = PlainAdamW.builder().addLoraPair("layer", a, b, 1f).build();
                PlainAdamW second = PlainAdamW.builder().addLoraPair("layer", a, b, 1f).build()) {
            steps.accept(first);
            OptimizerState state = first.exportState(manager);
            assertEquals(1, state.getSteps().get("layer"));
            assertEquals(arrays, state.getTensors().keySet());
            second.importState(state);
            assertEquals(arrays, second.exportState(manager).getTensors().keySet());
        }
    }

    /**
     * A pair with a step count has made one factor's moments at least, each factor's two together:
     * a state with none (LoRA-Pro SGD's, say), or with half of a factor's, is refused by name
     * instead of starting both factors' moments from zero at that step count.
     */
    @Test
    void aPairWithAStepCountButNoWholeFactorMomentsIsRefused() {
        Random rng = new Random(7);
        Parameter a = parameter("lora_A.weight", rng, 2, 4);
        Parameter b = parameter("lora_B.weight", rng, 3, 2);
        try (PlainAdamW adamw = PlainAdamW.builder().addLoraPair("layer", a, b, 1f).build()) {
            InvalidInputException none = assertThrows(InvalidInputException.class,
                    () -> adamw.importState(new OptimizerState(Map.of(), Map.of("layer", 3))));
            assertTrue(none.getMessage().contains("step count for 'layer' but none of its tensors"
                    + " layer.lora_A.weight.exp_avg, layer.lora_A.weight.exp_avg_sq"), none.getMessage());
            InvalidInputException half = assertThrows(InvalidInputException.class, () -> adamw.importState(
                    new OptimizerState(Map.of("layer.lora_A.weight.exp_avg", manager.zeros(new Shape(2, 4))),
                            Map.of("layer", 3))));
            assertTrue(half.getMessage().contains("no tensor 'layer.lora_A.weight.exp_avg_sq'"), half.getMessage());
            assertEquals(Map.of(), adamw.exportState(manager).getSteps());
        }
    }

    /** A parameter frozen here keeps nothing: moments or a step count saved for it when it trained are refused. */
    @Test
    void stateOfAFrozenParameterIsRefused() {
        Parameter w = parameter("w", new Random(8), 3, 4);
        OptimizerState trained;
        try (PlainAdamW adamw = PlainAdamW.builder().nameParameter("w", w).build()) {
            adamw.update(w.getId(), w.getArray(), manager.ones(new Shape(3, 4)));
            trained = adamw.exportState(manager);
        }
        w.freeze(true);
        try (PlainAdamW adamw = PlainAdamW.builder().nameParameter("w", w).build()) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> adamw.importState(trained));
            assertTrue(e.getMessage().contains("step count for 'w', a parameter that does not train here"), e.getMessage());
            assertThrows(InvalidInputException.class,
                    () -> adamw.importState(new OptimizerState(Map.of(), Map.of("w", 1))));
            // nothing of it: the empty state of a run that trained only other parameters is taken
            adamw.importState(new OptimizerState(Map.of(), Map.of()));
        }
    }

    @Test
    void aNegativeLearningRateIsRefusedNotClimbed() {
        Parameter w = parameter("w", new Random(3), 3, 4);
        // negative from the start: refused when built
        InvalidFieldException first = assertThrows(InvalidFieldException.class,
                () -> PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(-1e-3f)).nameParameter("w", w).build());
        assertEquals("learning_rate", first.field(), first.getMessage());
        // negative from the second update: refused at that step, the weight left as the first step made it
        Tracker turning = numUpdate -> numUpdate >= 2 ? -1e-3f : 1e-3f;
        try (PlainAdamW adamw = PlainAdamW.builder().setLearningRateTracker(turning).nameParameter("w", w).build()) {
            adamw.update(w.getId(), w.getArray(), manager.ones(new Shape(3, 4)));
            float[] before = w.getArray().toFloatArray();
            InvalidFieldException e = assertThrows(InvalidFieldException.class,
                    () -> adamw.update(w.getId(), w.getArray(), manager.ones(new Shape(3, 4))));
            assertTrue(e.getMessage().contains("-0.001 for w"), e.getMessage());
            assertArrayEquals(before, w.getArray().toFloatArray(), 0f);
        }
    }

    /** Clipping turns an infinity into a finite value: the DJL path checks the gradient before it clips. */
    @Test
    void anInfiniteGradientIsSkippedEvenWhenClipped() {
        Parameter w = parameter("w", new Random(9), 3, 4);
        try (PlainAdamW adamw = PlainAdamW.builder().optClipGrad(1f).nameParameter("w", w).build()) {
            float[] before = w.getArray().toFloatArray();
            NDArray grad = manager.ones(new Shape(3, 4));
            grad.set(new NDIndex("0, 0"), Float.POSITIVE_INFINITY);
            adamw.update(w.getId(), w.getArray(), grad);
            assertEquals(1, adamw.getSkippedSteps());
            assertArrayEquals(before, w.getArray().toFloatArray(), 0f);
            assertEquals(null, adamw.exportState(manager).getSteps().get("w"), "no step counted");
        }
        // a finite gradient that the rescaling overflows is skipped too
        try (PlainAdamW adamw = PlainAdamW.builder().setRescaleGrad(1e30f).nameParameter("w", w).build()) {
            float[] before = w.getArray().toFloatArray();
            adamw.update(w.getId(), w.getArray(), manager.full(new Shape(3, 4), 1e10f));
            assertEquals(1, adamw.getSkippedSteps());
            assertArrayEquals(before, w.getArray().toFloatArray(), 0f);
        }
    }

    @Test
    void aFailedImportLeavesTheStateAsItWas() {
        Parameter w = parameter("w", new Random(4), 3, 4);
        try (PlainAdamW adamw = PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                .nameParameter("w", w).build()) {
            adamw.update(w.getId(), w.getArray(), manager.ones(new Shape(3, 4)));
            OptimizerState before = adamw.exportState(manager);
            Map<String, float[]> values = new HashMap<>();
            before.getTensors().forEach((k, v) -> values.put(k, v.toFloatArray()));
            Map<String, Integer> steps = new HashMap<>(before.getSteps());
            steps.put("w", 5);
            // the second array cannot be read: nothing of the new state may stay
            assertThrows(InvalidInputException.class, () -> adamw.importState(steps,
                    java.util.List.of("w.exp_avg", "w.exp_avg_sq"), key -> {
                        if (key.endsWith("_sq")) {
                            throw new InvalidInputException(key + " is unreadable");
                        }
                        return manager.zeros(new Shape(3, 4));
                    }));
            // nor may a counter that names no parameter change anything
            Map<String, Integer> stray = new HashMap<>(steps);
            stray.put(DjlUpdateCounters.COUNT_PREFIX + "nothing", 1);
            assertThrows(InvalidInputException.class, () -> adamw.importState(stray,
                    java.util.List.of("w.exp_avg", "w.exp_avg_sq"), key -> manager.zeros(new Shape(3, 4))));
            OptimizerState after = adamw.exportState(manager);
            assertEquals(before.getSteps(), after.getSteps());
            assertEquals(values.keySet(), after.getTensors().keySet());
            after.getTensors().forEach((k, v) -> assertArrayEquals(values.get(k), v.toFloatArray(), 0f, k));
        }
    }
}
