package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.loss.Loss;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.optim.PlainAdamW;

import org.junit.jupiter.api.Test;

/**
 * What DJL 0.36 with PyTorch allows on the CPU, which is why data parallelism is tested through the
 * engine's replicas (keyed by index) and not through a DJL {@code Trainer} on two CPU devices. If
 * one of these facts changes, a two-device {@code Trainer} test against one device on the doubled
 * batch becomes possible.
 */
class DjlCpuDevicesTest {

    @Test
    void djlHasOneCpuDevice() {
        assertEquals(Device.cpu(), Device.of("cpu", 1));
        try (NDManager manager = NDManager.newBaseManager(Device.of("cpu", 1))) {
            assertEquals(Device.cpu(), manager.getDevice());
            assertEquals(Device.cpu(), manager.create(new float[] {1}).toDevice(Device.of("cpu", 1), true).getDevice());
        }
    }

    @Test
    void aTrainerOnTwoCpuDevicesIsRefused() {
        try (Model model = Model.newInstance("two-cpus")) {
            model.setBlock(Linear.builder().setUnits(2).build());
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.l2Loss())
                    .optOptimizer(PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f)).build())
                    .optDevices(new Device[] {Device.of("cpu", 0), Device.of("cpu", 1)});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.newTrainer(config));
            assertEquals("Duplicated devices are not allowed.", e.getMessage());
        }
    }

    /** Why {@link DataParallel} copies with {@code duplicate()} on the parameter's own device. */
    @Test
    void toDeviceWithCopyOnTheSameDeviceSharesMemory() {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            NDArray x = manager.create(new float[] {1, 2});
            x.toDevice(Device.cpu(), true).addi(10);
            assertArrayEquals(new float[] {11, 12}, x.toFloatArray());
            x.duplicate().addi(100);
            assertArrayEquals(new float[] {11, 12}, x.toFloatArray());
        }
    }
}
