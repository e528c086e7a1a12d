package ai.lorapro.tasks;

import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.jsonl.TextEncoder;

/** Adapts an {@link HfTokenizer} to the data pipeline's {@link TextEncoder}. */
public final class TaskTokenizers {

    private TaskTokenizers() {}

    /**
     * An encoder without special tokens whose BOS, EOS and PAD come from the tokenizer file.
     *
     * @param tokenizer the tokenizer
     * @param addBos whether examples start with the BOS token (causal LMs such as Llama: yes;
     *     T5: the tokenizer has none)
     */
    public static TextEncoder encoder(HfTokenizer tokenizer, boolean addBos) {
        long bos = addBos ? tokenizer.bosId().orElse(TextEncoder.NONE) : TextEncoder.NONE;
        return TextEncoder.withSpecialTokens(text -> tokenizer.encode(text, false), bos,
                tokenizer.eosId().orElse(TextEncoder.NONE), tokenizer.padId().orElse(TextEncoder.NONE));
    }
}
