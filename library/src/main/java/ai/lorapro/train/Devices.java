package ai.lorapro.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.lorapro.InvalidFieldException;

/** Resolves a {@link DeviceChoice} to a DJL device. */
public final class Devices {

    private Devices() {}

    /**
     * The device for {@code choice}: {@code auto} takes the first GPU when the engine has one.
     *
     * @throws InvalidFieldException naming the field {@code device} for {@code gpu} on a machine without one
     */
    public static Device resolve(DeviceChoice choice) {
        int gpus = Engine.getInstance().getGpuCount();
        switch (choice) {
            case CPU:
                return Device.cpu();
            case GPU:
                if (gpus == 0) {
                    throw new InvalidFieldException("device", "gpu: the engine sees no GPU");
                }
                return Device.gpu();
            default:
                return gpus > 0 ? Device.gpu() : Device.cpu();
        }
    }
}
