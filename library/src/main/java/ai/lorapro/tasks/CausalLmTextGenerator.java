package ai.lorapro.tasks;

import ai.djl.ndarray.NDManager;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.Generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Generation with a causal language model: each prompt is tokenised with the tokenizer's special
 * tokens (BOS for Llama), its last {@code maxPromptLength} tokens are kept, batches are
 * left-padded, and outputs are decoded without special tokens.
 */
public final class CausalLmTextGenerator implements TextGenerator {

    private final CausalLanguageModel model;
    private final HfTokenizer tokenizer;
    private final NDManager manager;
    private final Generator generator;
    private final int maxPromptLength;
    private final int batchSize;

    /**
     * A generator.
     *
     * @param model the model
     * @param tokenizer its tokenizer
     * @param manager the manager of the model's device
     * @param generator the decoding settings (its EOS ids end each output)
     * @param maxPromptLength the most prompt tokens kept (the end of a longer prompt)
     * @param batchSize prompts per batch
     */
    public CausalLmTextGenerator(CausalLanguageModel model, HfTokenizer tokenizer, NDManager manager,
            Generator generator, int maxPromptLength, int batchSize) {
        if (batchSize < 1 || maxPromptLength < 1) {
            throw new IllegalArgumentException("batch size and prompt length must be positive");
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.manager = manager;
        this.generator = generator;
        this.maxPromptLength = maxPromptLength;
        this.batchSize = batchSize;
    }

    /**
     * Greedy decoding settings for a model's special tokens ({@link TaskTokenizers#specialTokens}):
     * each of its EOS ids ends an output, and its padding id pads.
     */
    public static Generator greedy(SpecialTokens tokens, int maxNewTokens) {
        Generator.Builder builder = Generator.builder().optMaxNewTokens(maxNewTokens);
        if (!tokens.eos().isEmpty()) {
            builder.optEosTokenIds(Set.copyOf(tokens.eos()));
        }
        return builder.optPadTokenId(tokens.paddingId()).build();
    }

    @Override
    public List<String> generate(List<String> prompts) {
        List<String> out = new ArrayList<>();
        long pad = generator.padTokenId();
        for (int start = 0; start < prompts.size(); start += batchSize) {
            List<String> chunk = prompts.subList(start, Math.min(prompts.size(), start + batchSize));
            long[][] ids = new long[chunk.size()][];
            int longest = 0;
            for (int i = 0; i < ids.length; i++) {
                long[] all = tokenizer.encode(chunk.get(i), true);
                ids[i] = all.length <= maxPromptLength ? all
                        : Arrays.copyOfRange(all, all.length - maxPromptLength, all.length);
                longest = Math.max(longest, ids[i].length);
            }
            long[][] padded = new long[ids.length][longest];
            long[][] mask = new long[ids.length][longest];
            for (int i = 0; i < ids.length; i++) {
                int offset = longest - ids[i].length;
                Arrays.fill(padded[i], pad);
                System.arraycopy(ids[i], 0, padded[i], offset, ids[i].length);
                Arrays.fill(mask[i], offset, longest, 1);
            }
            for (long[] tokens : generator.generate(model, manager, padded, mask)) {
                out.add(tokenizer.decode(tokens, true));
            }
        }
        return out;
    }
}
