package ai.lorapro.train;

import ai.lorapro.InvalidFieldException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

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

    /**
     * The stable id written into checkpoints ({@code trainer_state.json}, {@code run_identity.json}),
     * e.g. {@code lora-pro}.
     */
    public String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Whether the method trains low-rank adapters rather than the base weights. */
    public boolean usesAdapters() {
        return this != FULL;
    }

    /**
     * The method whose {@link #id()} is {@code id}.
     *
     * @throws InvalidFieldException naming the field {@code method} when the id is unknown
     */
    public static Method fromId(String id) {
        for (Method m : values()) {
            if (m.id().equals(id)) {
                return m;
            }
        }
        throw new InvalidFieldException("method", "'" + id + "' is not one of: "
                + Arrays.stream(values()).map(Method::id).collect(Collectors.joining(", ")));
    }
}
