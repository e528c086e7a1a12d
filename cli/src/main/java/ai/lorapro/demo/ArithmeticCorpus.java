package ai.lorapro.demo;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The demo's generated data. Pretraining teaches the format and addition ({@code "23+45=68"}),
 * with every token supervised; a fine-tuning {@link Skill} is supervised on the answer only, and
 * its train, validation and test problems are disjoint.
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
     * Disjoint splits of the problems of {@code skill}: every operand pair the skill accepts,
     * shuffled with {@code seed}, cut into consecutive parts of the given sizes.
     *
     * @param counts the size of each split, e.g. train, validation, test
     * @return one list per count, in order
     * @throws ai.lorapro.InvalidInputException when the skill has fewer problems than asked for
     */
    public List<List<Problem>> splits(Skill skill, long seed, int... counts) {
        List<Problem> all = new ArrayList<>();
        for (int a = 0; a <= maxOperand; a++) {
            for (int b = 0; b <= maxOperand; b++) {
                if (skill.accepts(a, b)) {
                    all.add(skill.problem(a, b));
                }
            }
        }
        int wanted = 0;
        for (int count : counts) {
            wanted += count;
        }
        if (wanted > all.size()) {
            throw new InvalidInputException(skill.description() + ": only " + all.size()
                    + " distinct problems with operands up to " + maxOperand + ", asked for " + wanted);
        }
        Collections.shuffle(all, new Random(seed));
        List<List<Problem>> out = new ArrayList<>();
        int from = 0;
        for (int count : counts) {
            out.add(List.copyOf(all.subList(from, from + count)));
            from += count;
        }
        return out;
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
