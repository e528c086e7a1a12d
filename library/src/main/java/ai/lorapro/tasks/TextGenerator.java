package ai.lorapro.tasks;

import java.util.List;

/**
 * Continues text prompts: the seam between the evaluation tasks (which build prompts and score
 * outputs) and a model with its tokenizer and decoding settings.
 */
@FunctionalInterface
public interface TextGenerator {

    /**
     * The continuation of each prompt, without the prompt and without special tokens.
     *
     * @param prompts the prompts
     * @return one output per prompt, in order
     */
    List<String> generate(List<String> prompts);
}
