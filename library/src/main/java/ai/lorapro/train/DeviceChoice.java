package ai.lorapro.train;

/** Where training runs. */
public enum DeviceChoice {
    /** The GPU when the engine has one, else the CPU. */
    AUTO,
    /** The CPU. */
    CPU,
    /** The first GPU; an error when the engine has none. */
    GPU
}
