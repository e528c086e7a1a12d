package ai.lorapro.tasks;

import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.SpecialTokens;

/**
 * A model's special tokens as every command uses them (the tokenizer's where it has them, else the
 * model config's), and the data pipeline's {@link TextEncoder} built on them.
 */
public final class TaskTokenizers {

    private TaskTokenizers() {}

    /**
     * The special tokens: the tokenizer's BOS and PAD where it has them, else the config's; its EOS
     * first among the config's EOS ids (a Llama 3 instruct model stops at each of them).
     */
    public static SpecialTokens specialTokens(HfTokenizer tokenizer, ModelArchitecture architecture) {
        return architecture.specialTokens().overriddenBy(tokenizer.bosId(), tokenizer.eosId(), tokenizer.padId());
    }

    /**
     * An encoder of the tokenizer's ids without special tokens, whose BOS, EOS and PAD are {@code
     * tokens}' (T5's config names no BOS and its tokenizers have none, so its examples start without
     * one; a tokenizer that does name one is followed).
     */
    public static TextEncoder encoder(HfTokenizer tokenizer, SpecialTokens tokens) {
        return TextEncoder.withSpecialTokens(text -> tokenizer.encode(text, false), tokens.bos(), tokens.firstEos(),
                tokens.pad());
    }

    /** {@link #encoder(HfTokenizer, SpecialTokens)} with {@link #specialTokens}. */
    public static TextEncoder encoder(HfTokenizer tokenizer, ModelArchitecture architecture) {
        return encoder(tokenizer, specialTokens(tokenizer, architecture));
    }
}
