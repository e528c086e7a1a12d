package ai.lorapro.demo;

import ai.djl.ndarray.NDManager;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.Generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The fraction of problems whose greedy answer is exactly right and ends with EOS. Prompts are
 * generated in batches of equal length, so no batch needs padding.
 */
final class ExactMatch {

    private ExactMatch() {}

    /** The fraction of {@code problems} that {@code model} answers exactly. */
    static double of(CausalLanguageModel model, NDManager manager, List<ArithmeticCorpus.Problem> problems,
            CharTokenizer tokenizer) {
        Map<Integer, List<ArithmeticCorpus.Problem>> byLength = new TreeMap<>();
        for (ArithmeticCorpus.Problem p : problems) {
            byLength.computeIfAbsent(p.prompt().length(), k -> new ArrayList<>()).add(p);
        }
        int longestAnswer = problems.stream().mapToInt(p -> p.answer().length()).max().orElse(0);
        Generator generator = Generator.builder()
                .optMaxNewTokens(longestAnswer + 1)
                .optEosTokenIds(Set.of(tokenizer.eosId()))
                .optPadTokenId(tokenizer.padId())
                .build();
        int correct = 0;
        for (List<ArithmeticCorpus.Problem> batch : byLength.values()) {
            long[][] prompts = new long[batch.size()][];
            long[][] mask = new long[batch.size()][];
            for (int i = 0; i < prompts.length; i++) {
                long[] body = tokenizer.encode(batch.get(i).prompt());
                prompts[i] = new long[body.length + 1];
                prompts[i][0] = tokenizer.bosId();
                System.arraycopy(body, 0, prompts[i], 1, body.length);
                mask[i] = new long[prompts[i].length];
                Arrays.fill(mask[i], 1);
            }
            List<long[]> answers = generator.generate(model, manager, prompts, mask);
            for (int i = 0; i < answers.size(); i++) {
                long[] tokens = answers.get(i);
                boolean ended = tokens.length > 0 && tokens[tokens.length - 1] == tokenizer.eosId();
                if (ended && tokenizer.decode(tokens).equals(batch.get(i).answer())) {
                    correct++;
                }
            }
        }
        return problems.isEmpty() ? Double.NaN : (double) correct / problems.size();
    }
}
