package ai.lorapro.train;

/** The fine-tuning method: which parameters train and which optimizer updates them. */
public enum Method {
    /** Full fine-tuning: every base weight trains, AdamW. */
    FULL,
    /** Plain LoRA: only the adapters train, AdamW. */
    LORA,
    /** LoRA-Pro with AdamW (the paper's default). */
    LORA_PRO,
    /** LoRA-Pro with AdamW, in its memory-efficient form. */
    LORA_PRO_EFFICIENT,
    /** LoRA-Pro with SGD. */
    LORA_PRO_SGD;

    /** The command-line name, e.g. {@code lora-pro}. */
    public String cliName() {
        return CliNames.of(this);
    }

    /** Whether the method trains low-rank adapters rather than the base weights. */
    public boolean usesAdapters() {
        return this != FULL;
    }

    /**
     * The method with command-line name {@code name}.
     *
     * @throws ai.lorapro.InvalidInputException naming {@code --method} when the name is unknown
     */
    public static Method fromCliName(String name) {
        return CliNames.parse(Method.class, "--method", name);
    }
}
