package ai.lorapro.train;

/** Where training runs. */
public enum DeviceChoice {
    /** The GPU when the engine has one, else the CPU. */
    AUTO,
    /** The CPU. */
    CPU,
    /** The first GPU; an error when the engine has none. */
    GPU;

    /** The command-line name, e.g. {@code auto}. */
    public String cliName() {
        return CliNames.of(this);
    }

    /**
     * The choice with command-line name {@code name}.
     *
     * @throws ai.lorapro.InvalidInputException naming {@code --device} when the name is unknown
     */
    public static DeviceChoice fromCliName(String name) {
        return CliNames.parse(DeviceChoice.class, "--device", name);
    }
}
