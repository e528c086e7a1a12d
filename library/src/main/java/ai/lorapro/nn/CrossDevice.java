package ai.lorapro.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;

/** In-place writes from an array on one device into an array on another (or the same) device. */
public final class CrossDevice {

    private CrossDevice() {}

    /** Overwrites {@code target} with {@code source}'s values (same shape and type). */
    public static void copy(NDArray source, NDArray target) {
        if (source.getDevice().equals(target.getDevice())) {
            target.set(new NDIndex("..."), source);
        } else {
            try (NDArray moved = source.toDevice(target.getDevice(), true)) {
                target.set(new NDIndex("..."), moved);
            }
        }
    }

    /** Adds {@code source} to {@code target} in place (same shape and type). */
    public static void add(NDArray source, NDArray target) {
        if (source.getDevice().equals(target.getDevice())) {
            target.addi(source);
        } else {
            try (NDArray moved = source.toDevice(target.getDevice(), true)) {
                target.addi(moved);
            }
        }
    }
}
