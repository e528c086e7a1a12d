package ai.lorapro.models.common;

import ai.djl.ndarray.NDManager;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.SpecialTokens;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Left-pads prompts of different lengths into one generation batch of a causal language model. */
public final class Prompts {

    private Prompts() {}

    /**
     * What {@code generate} means for a causal language model: each prompt, after the BOS token
     * when there is one, is continued until an EOS token or the length limit.
     *
     * @param model the model
     * @param manager the model's manager
     * @param prompts the prompts' ids without special tokens, each non-empty
     * @param tokens the BOS, EOS and padding ids
     * @param decoding greedy or sampling
     * @return the new tokens of each prompt
     */
    public static List<long[]> continuePrompts(CausalLanguageModel model, NDManager manager, List<long[]> prompts,
            SpecialTokens tokens, Decoding decoding) {
        boolean bos = tokens.bos() != SpecialTokens.NONE;
        long[][] ids = new long[prompts.size()][];
        for (int i = 0; i < ids.length; i++) {
            long[] text = prompts.get(i);
            ids[i] = new long[text.length + (bos ? 1 : 0)];
            if (bos) {
                ids[i][0] = tokens.bos();
            }
            System.arraycopy(text, 0, ids[i], bos ? 1 : 0, text.length);
        }
        Set<Long> eos = new HashSet<>(tokens.eos());
        Generator.Builder builder = Generator.builder()
                .optMaxNewTokens(decoding.maxNewTokens())
                .optEosTokenIds(eos)
                .optPadTokenId(tokens.paddingId());
        if (decoding.sampling()) {
            builder.optSampling(decoding.temperature(), decoding.topP(), decoding.seed());
        }
        return generate(builder.build(), model, manager, ids, tokens.paddingId());
    }

    /**
     * Generates continuations of {@code prompts} (token ids) in one batch.
     *
     * @param generator the generator
     * @param model the model
     * @param manager the model's manager
     * @param prompts the prompts' ids, each non-empty
     * @param padId the padding id
     * @return the new tokens of each prompt
     */
    public static List<long[]> generate(Generator generator, CausalLanguageModel model, NDManager manager,
            long[][] prompts, long padId) {
        int length = 0;
        for (long[] p : prompts) {
            length = Math.max(length, p.length);
        }
        long[][] ids = new long[prompts.length][length];
        long[][] mask = new long[prompts.length][length];
        for (int i = 0; i < prompts.length; i++) {
            int offset = length - prompts[i].length;
            for (int t = 0; t < length; t++) {
                ids[i][t] = t < offset ? padId : prompts[i][t - offset];
                mask[i][t] = t < offset ? 0 : 1;
            }
        }
        return generator.generate(model, manager, ids, mask);
    }
}
