package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * Runs a step with its arrays attached to a manager of their own device.
 *
 * <p>DJL creates every new array, including the scalar of {@code x.mul(2)}, on the device of the
 * operand's manager, not of the operand. In multi-device training DJL's {@code ParameterStore}
 * attaches each device copy of a parameter to one manager of another device, so a step on such a
 * copy would mix devices. While this scope is open, the arrays whose manager is on another device
 * are temporarily attached to a sub-manager on their own device; closing the scope frees what the
 * step created there and gives the arrays back to their managers.
 */
final class DeviceScope implements AutoCloseable {

    private final NDManager manager;

    private DeviceScope(NDManager manager) {
        this.manager = manager;
    }

    /**
     * A scope for {@code arrays}, all on the device of the first.
     *
     * @throws IllegalArgumentException if the arrays are on different devices
     */
    static DeviceScope of(NDArray... arrays) {
        Device device = arrays[0].getDevice();
        boolean foreign = false;
        for (NDArray array : arrays) {
            if (!array.getDevice().equals(device)) {
                throw new IllegalArgumentException(
                        "arrays of one step are on " + device + " and " + array.getDevice());
            }
            foreign |= !array.getManager().getDevice().equals(device);
        }
        if (!foreign) {
            return new DeviceScope(null);
        }
        NDManager manager = arrays[0].getManager().newSubManager(device);
        for (NDArray array : arrays) {
            array.tempAttach(manager);
        }
        return new DeviceScope(manager);
    }

    @Override
    public void close() {
        if (manager != null) {
            manager.close();
        }
    }
}
