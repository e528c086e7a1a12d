package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.lorapro.InvalidInputException;
import ai.lorapro.train.DeviceChoice;

import org.junit.jupiter.api.Test;

import java.util.List;

/** {@code --devices} against a machine with a given number of GPUs. */
class DeviceListTest {

    @Test
    void idsResolveToTheirGpusInTheGivenOrder() {
        assertEquals(List.of(Device.gpu(1), Device.gpu(0)),
                DeviceList.resolve("1,0", DeviceList.parse(DeviceChoice.GPU, "1,0"), 2));
        assertEquals(List.of(Device.gpu(0), Device.gpu(1), Device.gpu(2)),
                DeviceList.resolve("all", DeviceList.parse(DeviceChoice.AUTO, "all"), 3));
    }

    @Test
    void anIdBeyondTheGpusIsRefusedNamingIt() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> DeviceList.resolve("0,3", DeviceList.parse(DeviceChoice.GPU, "0,3"), 2));
        assertTrue(e.getMessage().startsWith("--devices 0,3: GPU 3 is not present (the engine sees 2 GPUs"),
                e.getMessage());
    }

    @Test
    void theGlobalBatchMustSplitIntoMicroBatchesOnEveryDevice() {
        DeviceList.requireDivisible(16, 2, 4);
        DeviceList.requireDivisible(16, 1, 8);
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> DeviceList.requireDivisible(12, 2, 4));
        assertEquals("--global-batch 12 must be a multiple of --micro-batch 2 x 4 --devices (= 8)", e.getMessage());
    }
}
