package ai.lorapro.demo;

import ai.lorapro.data.batch.Example;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The demo's generated data. Pretraining teaches the format and addition ({@code "23+45=68"}),
 * with every token supervised; the held-out fine-tuning skill is subtraction ({@code "68-45="} to
 * {@code "23"}), supervised on the answer only. Train and test subtraction problems are disjoint.
 */
public final class ArithmeticCorpus {

    /** One prompt and its expected answer. */
    public record Problem(String prompt, String answer) {}

    private final CharTokenizer tokenizer;
    private final int maxOperand;

    /**
     * @param tokenizer the demo tokenizer
     * @param maxOperand operands are drawn from 0 .. maxOperand
     */
    public ArithmeticCorpus(CharTokenizer tokenizer, int maxOperand) {
        this.tokenizer = tokenizer;
        this.maxOperand = maxOperand;
    }

    /** {@code count} addition sentences for pretraining, every token supervised. */
    public List<Example> pretraining(int count, long seed) {
        Random random = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int a = random.nextInt(maxOperand + 1);
            int b = random.nextInt(maxOperand + 1);
            out.add(text(a + "+" + b + "=" + (a + b)));
        }
        return out;
    }

    /**
     * Disjoint train and test sets of subtraction problems a - b with a >= b.
     *
     * @return {train, test}
     */
    public List<List<Problem>> subtraction(int trainCount, int testCount, long seed) {
        Random random = new Random(seed);
        Set<String> seen = new LinkedHashSet<>();
        List<Problem> all = new ArrayList<>();
        int wanted = trainCount + testCount;
        int possible = (maxOperand + 1) * (maxOperand + 2) / 2;
        if (wanted > possible) {
            throw new IllegalArgumentException("only " + possible + " distinct problems, asked for " + wanted);
        }
        while (all.size() < wanted) {
            int a = random.nextInt(maxOperand + 1);
            int b = random.nextInt(a + 1);
            String prompt = a + "-" + b + "=";
            if (seen.add(prompt)) {
                all.add(new Problem(prompt, Integer.toString(a - b)));
            }
        }
        return List.of(all.subList(0, trainCount), all.subList(trainCount, wanted));
    }

    /** A problem as an example: BOS prompt answer EOS, supervised on the answer and EOS. */
    public Example example(Problem problem) {
        long[] prompt = tokenizer.encode(problem.prompt());
        long[] answer = tokenizer.encode(problem.answer());
        int n = 1 + prompt.length + answer.length + 1;
        long[] ids = new long[n];
        long[] labels = new long[n];
        ids[0] = tokenizer.bosId();
        labels[0] = Example.IGNORE_INDEX;
        for (int i = 0; i < prompt.length; i++) {
            ids[1 + i] = prompt[i];
            labels[1 + i] = Example.IGNORE_INDEX;
        }
        for (int i = 0; i < answer.length; i++) {
            ids[1 + prompt.length + i] = answer[i];
            labels[1 + prompt.length + i] = answer[i];
        }
        ids[n - 1] = tokenizer.eosId();
        labels[n - 1] = tokenizer.eosId();
        return new Example(ids, labels);
    }

    /** The examples of {@code problems}. */
    public List<Example> examples(List<Problem> problems) {
        List<Example> out = new ArrayList<>();
        for (Problem p : problems) {
            out.add(example(p));
        }
        return out;
    }

    private Example text(String sentence) {
        long[] body = tokenizer.encode(sentence);
        long[] ids = new long[body.length + 2];
        ids[0] = tokenizer.bosId();
        System.arraycopy(body, 0, ids, 1, body.length);
        ids[ids.length - 1] = tokenizer.eosId();
        return new Example(ids, ids.clone());
    }
}
