package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import ai.lorapro.data.batch.DataPosition;
import ai.lorapro.train.PeakMemory;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.optim.LoraProAdamW;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Checkpoints of a large optimizer state stream: saving holds no second copy of the state (neither
 * on the heap nor natively), and restoring reads it one tensor at a time into its final place.
 *
 * <p>The bounds do not depend on timing: heap bytes are counted by the JVM per thread, and the
 * native side by the process's resident-set peak, reset before the save.
 */
class CheckpointMemoryTest {

    private static final int OUT = 2048;
    private static final int IN = 4096;
    /** Full mode keeps two float32 moments of OUT x IN: 64 MiB. */
    private static final long STATE_BYTES = 2L * OUT * IN * 4;

    @TempDir
    Path tmp;

    /** A model of one adapted projection named {@code proj}. */
    private static final class OneLayer extends HfBlock {
        final LoraLinear proj;

        OneLayer(LoraLinear proj) {
            this.proj = module("proj", proj);
        }

        @Override
        protected NDList forwardInternal(ai.djl.training.ParameterStore store, NDList inputs, boolean training,
                PairList<String, Object> params) {
            return proj.forward(store, inputs, training);
        }
    }

    @Test
    void savingAndRestoringALargeStateHoldsNoSecondCopy() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LoraLinear proj = LoraLinear.builder().setInFeatures(IN).setOutFeatures(OUT)
                    .optLora(LoraConfig.builder().setR(2).setAlpha(4).build()).build();
            OneLayer model = new OneLayer(proj);
            model.initialize(manager, DataType.FLOAT32, new Shape(1, IN));
            LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-3f))
                    .addLoraLayers(model).build();
            NDArray a = proj.getLoraA().getArray();
            NDArray b = proj.getLoraB().getArray();
            optimizer.update(proj.getLoraA().getId(), a, manager.randomNormal(a.getShape()));
            optimizer.update(proj.getLoraB().getId(), b, manager.randomNormal(b.getShape()));
            assertEquals(STATE_BYTES, optimizer.stateBytes());

            TrainerState state = new TrainerState(1, DataPosition.START, 42, 1, 0, 0, "f", "lora-pro", "{}");
            TrainingCheckpoint.save(tmp.resolve("warm-up"), model, Method.LORA_PRO, optimizer, state, null, "b",
                    "CAUSAL_LM");
            long rssBefore = PeakMemory.residentBytes();
            boolean peakReset = PeakMemory.reset();
            long heapBefore = allocatedHeapBytes();
            TrainingCheckpoint.save(tmp.resolve("ckpt"), model, Method.LORA_PRO, optimizer, state, null, "b",
                    "CAUSAL_LM");
            long heap = allocatedHeapBytes() - heapBefore;
            long nativePeak = PeakMemory.peakBytes() - rssBefore;
            assertTrue(heap < STATE_BYTES / 8, "saving allocated " + heap + " heap bytes for " + STATE_BYTES);

            Map<String, float[]> saved = new LinkedHashMap<>();
            optimizer.viewState().getTensors().forEach((k, v) -> saved.put(k, v.toFloatArray()));
            LoraProAdamW resumed = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-3f))
                    .addLoraLayers(model).build();
            heapBefore = allocatedHeapBytes();
            TrainingCheckpoint.restore(tmp.resolve("ckpt"), model, Method.LORA_PRO, resumed, manager);
            long restoreHeap = allocatedHeapBytes() - heapBefore;
            assertTrue(restoreHeap < STATE_BYTES / 8, "restoring allocated " + restoreHeap + " heap bytes");
            Map<String, NDArray> restored = resumed.viewState().getTensors();
            assertEquals(saved.keySet(), restored.keySet());
            saved.forEach((k, v) -> assertArrayEquals(v, restored.get(k).toFloatArray(), k));
            resumed.close();
            optimizer.close();

            assumeTrue(peakReset, "the kernel does not let the resident-set peak be reset");
            assertTrue(nativePeak < STATE_BYTES / 3,
                    "the resident set grew by " + nativePeak + " bytes while saving " + STATE_BYTES);
        }
    }

    private static long allocatedHeapBytes() {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        return threads.getThreadAllocatedBytes(Thread.currentThread().getId());
    }
}
