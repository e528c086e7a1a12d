package ai.lorapro.tasks;

import ai.djl.ndarray.NDManager;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.models.t5.T5GreedyDecoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy text-to-text generation with T5: each source is tokenised (ending with EOS, cut to the
 * maximum source length), batches are right-padded, and outputs are decoded without special
 * tokens.
 */
public final class T5TextGenerator implements TextGenerator {

    private final T5ForConditionalGeneration model;
    private final HfTokenizer tokenizer;
    private final NDManager manager;
    private final Seq2SeqExamples sources;
    private final T5GreedyDecoder decoder;
    private final int batchSize;

    /**
     * A generator.
     *
     * @param model the model
     * @param tokenizer its tokenizer
     * @param manager the manager of the model's device
     * @param maxSourceLength the most source tokens
     * @param maxNewTokens the most tokens to generate
     * @param batchSize sources per decoding batch
     */
    public T5TextGenerator(T5ForConditionalGeneration model, HfTokenizer tokenizer, NDManager manager,
            int maxSourceLength, int maxNewTokens, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        this.model = model;
        this.tokenizer = tokenizer;
        this.manager = manager;
        this.sources = new Seq2SeqExamples(TaskTokenizers.encoder(tokenizer, false), maxSourceLength, maxNewTokens);
        this.decoder = new T5GreedyDecoder(maxNewTokens, true);
        this.batchSize = batchSize;
    }

    @Override
    public List<String> generate(List<String> prompts) {
        List<String> out = new ArrayList<>();
        long pad = model.getConfig().getPadTokenId();
        for (int start = 0; start < prompts.size(); start += batchSize) {
            List<String> chunk = prompts.subList(start, Math.min(prompts.size(), start + batchSize));
            long[][] ids = new long[chunk.size()][];
            int longest = 0;
            for (int i = 0; i < ids.length; i++) {
                ids[i] = sources.source(chunk.get(i));
                longest = Math.max(longest, ids[i].length);
            }
            long[][] padded = new long[ids.length][longest];
            long[][] mask = new long[ids.length][longest];
            for (int i = 0; i < ids.length; i++) {
                Arrays.fill(padded[i], pad);
                System.arraycopy(ids[i], 0, padded[i], 0, ids[i].length);
                Arrays.fill(mask[i], 0, ids[i].length, 1);
            }
            for (long[] tokens : decoder.generate(model, manager, padded, mask)) {
                out.add(tokenizer.decode(tokens, true).strip());
            }
        }
        return out;
    }
}
