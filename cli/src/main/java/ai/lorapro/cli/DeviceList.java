package ai.lorapro.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.lorapro.InvalidInputException;
import ai.lorapro.train.DeviceChoice;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The GPUs of data-parallel training, as {@code --devices} names them: {@code all} or GPU ids
 * separated by commas ({@code 0,1,3}); the first holds the model and the optimizer state. How a
 * global batch splits over them: global batch = micro-batch (per device) x devices x accumulation
 * steps.
 */
public final class DeviceList {

    /** The value naming every GPU the engine sees. */
    public static final String ALL = "all";

    private DeviceList() {}

    /**
     * The GPU ids {@code spec} names, checked for syntax only; empty for {@code all}.
     *
     * @param choice the {@code --device} choice: {@code cpu} is refused
     * @param spec {@code all} or comma-separated ids
     * @throws InvalidInputException naming {@code --devices} for {@code --device cpu}, a malformed,
     *     negative or repeated id
     */
    public static List<Integer> parse(DeviceChoice choice, String spec) {
        if (choice == DeviceChoice.CPU) {
            throw new InvalidInputException("--devices " + spec
                    + " needs --device gpu: data-parallel training runs on GPUs (--device cpu trains on the CPU alone)");
        }
        if (ALL.equals(spec.strip())) {
            return List.of();
        }
        Set<Integer> ids = new LinkedHashSet<>();
        for (String part : spec.split(",", -1)) {
            int id;
            try {
                id = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw new InvalidInputException("--devices " + spec + ": '" + part
                        + "' is not a GPU id (expected all or ids like 0,1)");
            }
            if (id < 0) {
                throw new InvalidInputException("--devices " + spec + ": GPU id " + id + " is negative");
            }
            if (!ids.add(id)) {
                throw new InvalidInputException("--devices " + spec + ": GPU " + id + " is named twice");
            }
        }
        return List.copyOf(ids);
    }

    /**
     * The devices of {@code ids} ({@link #parse}; empty for all) on a machine with {@code gpuCount}
     * GPUs.
     *
     * @throws InvalidInputException naming {@code --devices} when an id is not present or there is
     *     no GPU
     */
    public static List<Device> resolve(String spec, List<Integer> ids, int gpuCount) {
        if (gpuCount == 0) {
            throw new InvalidInputException("--devices " + spec + ": the engine sees no GPU");
        }
        List<Device> devices = new ArrayList<>();
        if (ids.isEmpty()) {
            for (int id = 0; id < gpuCount; id++) {
                devices.add(Device.gpu(id));
            }
            return devices;
        }
        for (int id : ids) {
            if (id >= gpuCount) {
                throw new InvalidInputException("--devices " + spec + ": GPU " + id + " is not present (the engine sees "
                        + gpuCount + " GPU" + (gpuCount == 1 ? "" : "s") + ", ids 0 to " + (gpuCount - 1) + ")");
            }
            devices.add(Device.gpu(id));
        }
        return devices;
    }

    /** {@link #resolve(String, List, int)} on the GPUs the engine sees. */
    public static List<Device> resolve(String spec, List<Integer> ids) {
        return resolve(spec, ids, Engine.getInstance().getGpuCount());
    }

    /**
     * Checks that a global batch splits into micro-batches of {@code microBatch} examples on each
     * of {@code devices} devices.
     *
     * @throws InvalidInputException naming {@code --global-batch}, {@code --micro-batch} and
     *     {@code --devices} when it does not
     */
    public static void requireDivisible(int globalBatch, int microBatch, int devices) {
        if (devices < 1 || microBatch < 1 || globalBatch % ((long) microBatch * devices) != 0) {
            throw new InvalidInputException("--global-batch " + globalBatch + " must be a multiple of --micro-batch "
                    + microBatch + " x " + devices + " --devices (= " + (long) microBatch * devices + ")");
        }
    }
}
