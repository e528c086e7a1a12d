package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The memory LoRA-Pro AdamW pays per adapted matrix: its state is exactly two fp32 moments of m x n
 * in full mode and of the factors' sizes in efficient mode, and a full-mode step allocates no m x m
 * or n x n array and only a small constant number of m x n ones.
 *
 * <p>Allocations are observed where DJL records them: every array an operation creates is attached
 * to the manager of its operand, so the test swaps the resource map of the managers involved for one
 * that logs the shape of every new array.
 */
class FullModeAllocationTest {

    private static final int M = 48;
    private static final int N = 40;
    private static final int R = 4;
    private static final int STEPS = 3;
    /** Full-rank-sized arrays a full-mode step may create: g~ and, one after the other, sqrt(v) + eps and u. */
    private static final int MAX_FULL_SIZED_TEMPORARIES = 3;

    /** A resource map that records the shape of every array attached to it, and watches sub-managers. */
    private static final class RecordingResources extends ConcurrentHashMap<String, AutoCloseable> {
        private static final long serialVersionUID = 1L;
        private final transient List<Shape> created;

        RecordingResources(List<Shape> created) {
            this.created = created;
        }

        @Override
        public AutoCloseable put(String key, AutoCloseable value) {
            if (value instanceof NDArray) {
                created.add(((NDArray) value).getShape());
            } else if (value instanceof BaseNDManager) {
                // the optimizer's state lives in a sub-manager; arrays derived from it attach there
                watch((BaseNDManager) value, created);
            }
            return super.put(key, value);
        }
    }

    private static void watch(BaseNDManager manager, List<Shape> created) {
        try {
            Field field = BaseNDManager.class.getDeclaredField("resources");
            field.setAccessible(true);
            @SuppressWarnings("unchecked")
            ConcurrentHashMap<String, AutoCloseable> current =
                    (ConcurrentHashMap<String, AutoCloseable>) field.get(manager);
            if (current instanceof RecordingResources) {
                return;
            }
            RecordingResources recording = new RecordingResources(created);
            // putAll bypasses put: existing arrays are not counted, existing sub-managers are watched here
            recording.putAll(current);
            field.set(manager, recording);
            for (AutoCloseable resource : current.values()) {
                if (resource instanceof BaseNDManager) {
                    watch((BaseNDManager) resource, created);
                }
            }
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("cannot observe the NDManager's resources", e);
        }
    }

    private static Parameter parameter(NDManager manager, String name, Random rng, int rows, int cols) {
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextGaussian();
        }
        NDArray array = manager.create(values, new Shape(rows, cols));
        array.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(array);
        return p;
    }

    private static NDArray gradient(NDManager manager, Random rng, Shape shape) {
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) rng.nextGaussian();
        }
        return manager.create(values, shape);
    }

    /** Runs {@link #STEPS} steps through {@code update} and returns the shapes created in the last one. */
    private static List<Shape> lastStepAllocations(
            LoraProAdamW.Mode mode, long blockElements, boolean fused, long[] stateBytes) {
        try (NDManager base = NDManager.newBaseManager()) {
            Random rng = new Random(11);
            NDManager weights = base.newSubManager();
            Parameter a = parameter(weights, "lora_A.weight", rng, R, N);
            Parameter b = parameter(weights, "lora_B.weight", rng, M, R);
            List<Shape> created = Collections.synchronizedList(new ArrayList<>());
            try (LoraProAdamW optimizer =
                    LoraProAdamW.builder()
                            .optMode(mode)
                            .blockElements(blockElements)
                            .optFusedCpuStep(fused)
                            .addLoraPair("pair", a, b, 2f)
                            .build()) {
                for (int step = 1; step <= STEPS; step++) {
                    NDArray gradA = gradient(weights, rng, a.getArray().getShape());
                    NDArray gradB = gradient(weights, rng, b.getArray().getShape());
                    if (step == STEPS) {
                        watch((BaseNDManager) weights, created);
                        created.clear();
                    }
                    optimizer.update(a.getId(), a.getArray(), gradA);
                    optimizer.update(b.getId(), b.getArray(), gradB);
                    gradA.close();
                    gradB.close();
                }
                stateBytes[0] = optimizer.stateBytes();
                return new ArrayList<>(created);
            }
        }
    }

    private static long count(List<Shape> shapes, long rows, long cols) {
        return shapes.stream()
                .filter(s -> s.dimension() == 2 && s.get(0) == rows && s.get(1) == cols)
                .count();
    }

    @Test
    void fullModeKeepsTwoMomentsAndAllocatesNoSquareAndFewFullSizedArrays() {
        long[] stateBytes = new long[1];
        List<Shape> created = lastStepAllocations(LoraProAdamW.Mode.FULL, Long.MAX_VALUE, false, stateBytes);
        assertEquals(2L * M * N * Float.BYTES, stateBytes[0]);
        // the observation must see the step's small arrays, or it proves nothing
        assertTrue(created.size() > 10, "too few allocations observed: " + created);
        assertEquals(0, count(created, M, M), "m x m arrays: " + created);
        assertEquals(0, count(created, N, N), "n x n arrays: " + created);
        long fullSized = count(created, M, N) + count(created, N, M);
        assertTrue(fullSized >= 1, "g~ must be observed: " + created);
        assertTrue(
                fullSized <= MAX_FULL_SIZED_TEMPORARIES,
                fullSized + " m x n temporaries in one full-mode step: " + created);
        long largest = created.stream().mapToLong(Shape::size).max().orElse(0);
        assertTrue(largest <= (long) M * N, "an array larger than m x n was created: " + created);
    }

    @Test
    void efficientModeKeepsMomentsOfTheFactorsOnlyAndAllocatesNothingFullSized() {
        long[] stateBytes = new long[1];
        List<Shape> created = lastStepAllocations(LoraProAdamW.Mode.EFFICIENT, FullAdamStep.CPU_BLOCK_ELEMENTS, true, stateBytes);
        assertEquals(2L * (M + N) * R * Float.BYTES, stateBytes[0]);
        assertTrue(created.size() > 10, "too few allocations observed: " + created);
        long largest = created.stream().mapToLong(Shape::size).max().orElse(0);
        assertTrue(largest <= (long) Math.max(M, N) * R, "an array larger than the factors was created: " + created);
    }

    @Test
    void fullModeInBlocksAllocatesNothingLargerThanABlockBeyondItsState() {
        long[] stateBytes = new long[1];
        long block = 8L * N;
        List<Shape> created = lastStepAllocations(LoraProAdamW.Mode.FULL, block, false, stateBytes);
        assertEquals(2L * M * N * Float.BYTES, stateBytes[0]);
        assertTrue(count(created, 8, N) >= 3, "the blocks' temporaries must be observed: " + created);
        assertEquals(0, count(created, M, N), "m x n arrays: " + created);
        long largest = created.stream().mapToLong(Shape::size).max().orElse(0);
        // beyond the blocks, the largest arrays are the low-rank factors of g~ (m x 2r)
        assertTrue(largest <= Math.max(block, 2L * R * M), "an array larger than a block was created: " + created);
    }

    @Test
    void fusedFullModeAllocatesNothingFullSizedAndKeepsTwoMoments() {
        long[] stateBytes = new long[1];
        List<Shape> created = lastStepAllocations(LoraProAdamW.Mode.FULL, FullAdamStep.CPU_BLOCK_ELEMENTS, true, stateBytes);
        assertEquals(2L * M * N * Float.BYTES, stateBytes[0]);
        assertTrue(created.size() > 10, "too few allocations observed: " + created);
        // the projections (r x n, m x r) come back from the kernel as new arrays
        assertTrue(count(created, R, N) >= 1 && count(created, M, R) >= 1, "the projections must be observed: " + created);
        long largest = created.stream().mapToLong(Shape::size).max().orElse(0);
        // the largest arrays are the low-rank factors of g~ (m x 2r); nothing m x n, m x m or n x n
        assertTrue(largest <= 2L * R * Math.max(M, N), "an array larger than the factors was created: " + created);
    }
}
