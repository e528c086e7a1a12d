package ai.lorapro.train;

/**
 * How LoRA-Pro picks the free r x r matrix X in its equivalent-gradient solution (paper,
 * Theorem 2.2).
 */
public enum XMode {
    /** X from the Sylvester equation that makes the adapters' update optimal (the paper's). */
    SYLVESTER,
    /** X that balances the updates of A and B symmetrically. */
    SYMMETRY,
    /** X = 0. */
    ZERO;

    /** The command-line name, e.g. {@code sylvester}. */
    public String cliName() {
        return CliNames.of(this);
    }

    /**
     * The mode with command-line name {@code name}.
     *
     * @throws ai.lorapro.InvalidInputException naming {@code --x-mode} when the name is unknown
     */
    public static XMode fromCliName(String name) {
        return CliNames.parse(XMode.class, "--x-mode", name);
    }
}
