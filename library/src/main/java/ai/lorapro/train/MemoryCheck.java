package ai.lorapro.train;

import ai.djl.Device;
import ai.djl.util.cuda.CudaUtils;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.management.ManagementFactory;

/**
 * Logs a run's {@link MemoryEstimate} at start-up and warns, before anything is loaded, when it
 * exceeds the memory of the device the run will use: physical memory on the CPU, the GPU's own
 * memory on a GPU.
 */
public final class MemoryCheck {

    private static final Logger LOGGER = LoggerFactory.getLogger(MemoryCheck.class);

    private MemoryCheck() {}

    /**
     * Logs {@code estimate} and warns when it does not fit.
     *
     * @param estimate the run's estimate
     * @param device the device the run trains on
     * @return whether the estimate fits (true when the device's memory is unknown)
     */
    public static boolean report(MemoryEstimate estimate, Device device) {
        LOGGER.info(estimate.describe());
        long available = deviceMemory(device);
        if (available > 0 && estimate.totalBytes() > available) {
            LOGGER.warn("the estimated {} exceed the {} of memory of {}: the run may fail for lack of memory"
                            + " (try fp16_frozen, lora-pro-efficient, a smaller micro_batch or max_seq_length)",
                    MemoryEstimate.gb(estimate.totalBytes()), MemoryEstimate.gb(available), device);
            return false;
        }
        return true;
    }

    /**
     * Warns, before a model is loaded to run it (not to train it), when its weights alone exceed
     * the memory of {@code device}.
     *
     * @param weightBytes the bytes of the weights as they will be held
     * @param hint what to try, e.g. a flag that halves them
     * @return whether they fit (true when the device's memory is unknown)
     */
    public static boolean reportWeights(long weightBytes, Device device, String hint) {
        long available = deviceMemory(device);
        if (available > 0 && weightBytes > available) {
            LOGGER.warn("the model's weights take {}, more than the {} of memory of {}: loading may fail ({})",
                    MemoryEstimate.gb(weightBytes), MemoryEstimate.gb(available), device, hint);
            return false;
        }
        return true;
    }

    /** The memory of {@code device} in bytes, or -1 when it cannot be told. */
    static long deviceMemory(Device device) {
        try {
            if (device.isGpu()) {
                return CudaUtils.getGpuMemory(device).getMax();
            }
            java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
            if (os instanceof com.sun.management.OperatingSystemMXBean) {
                return ((com.sun.management.OperatingSystemMXBean) os).getTotalMemorySize();
            }
        } catch (RuntimeException | LinkageError e) {
            LOGGER.debug("cannot read the memory of {}: {}", device, e.toString());
        }
        return -1;
    }
}
