package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.Generator;

import java.util.List;

/** Left-pads prompts of different lengths into one generation batch. */
public final class Prompts {

    private Prompts() {}

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
