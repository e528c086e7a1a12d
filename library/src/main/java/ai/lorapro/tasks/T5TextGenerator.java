package ai.lorapro.tasks;

import ai.djl.ndarray.NDManager;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.t5.T5Family;
import ai.lorapro.models.t5.T5ForConditionalGeneration;

import java.util.ArrayList;
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
    private final int maxNewTokens;
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
        this.sources = new Seq2SeqExamples(TaskTokenizers.encoder(tokenizer, new T5Family.Architecture(model.getConfig())), maxSourceLength, maxNewTokens);
        if (maxNewTokens < 1) {
            throw new IllegalArgumentException("max new tokens must be positive, got " + maxNewTokens);
        }
        this.maxNewTokens = maxNewTokens;
        this.batchSize = batchSize;
    }

    @Override
    public List<String> generate(List<String> prompts) {
        List<String> out = new ArrayList<>();
        for (int start = 0; start < prompts.size(); start += batchSize) {
            List<String> chunk = prompts.subList(start, Math.min(prompts.size(), start + batchSize));
            List<long[]> ids = new ArrayList<>();
            for (String prompt : chunk) {
                ids.add(sources.source(prompt));
            }
            for (long[] tokens : T5Family.decode(model, manager, ids, maxNewTokens)) {
                out.add(tokenizer.decode(tokens, true).strip());
            }
        }
        return out;
    }
}
