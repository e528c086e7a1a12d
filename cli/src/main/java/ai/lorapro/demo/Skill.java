package ai.lorapro.demo;

import ai.lorapro.InvalidInputException;

import java.util.Arrays;
import java.util.Locale;

/**
 * A skill the demo fine-tunes on: how an operand pair (a, b) becomes a prompt and its answer.
 * The pretraining corpus is always addition with decimal answers ({@code "23+45=68"}); each skill
 * changes the operation or the answer's alphabet.
 */
public enum Skill {
    /** {@code "45-23="} to {@code "22"}, a >= b: a new operation over known tokens. */
    SUBTRACTION("subtraction") {
        @Override
        boolean accepts(int a, int b) {
            return a >= b;
        }

        @Override
        ArithmeticCorpus.Problem problem(int a, int b) {
            return new ArithmeticCorpus.Problem(a + "-" + b + "=", Integer.toString(a - b));
        }
    },
    /**
     * {@code "23+45="} to {@code "gi"}: the known sum spelled with letters (0 = a, ..., 9 = j),
     * tokens the base model never produced.
     */
    LETTER_SUM("sum in letters") {
        @Override
        ArithmeticCorpus.Problem problem(int a, int b) {
            return new ArithmeticCorpus.Problem(a + "+" + b + "=", spell(a + b, "abcdefghij"));
        }
    },
    /**
     * {@code "23+45="} to {@code "81"}: the known sum with every digit d written as
     * {@code "3709518264".charAt(d)}, a permutation without fixed points of known output tokens.
     */
    PERMUTED_SUM("sum in permuted digits") {
        @Override
        ArithmeticCorpus.Problem problem(int a, int b) {
            return new ArithmeticCorpus.Problem(a + "+" + b + "=", spell(a + b, "3709518264"));
        }
    };

    private final String description;

    Skill(String description) {
        this.description = description;
    }

    /** A short description for titles and tables, e.g. {@code sum in letters}. */
    public String description() {
        return description;
    }

    /** The command-line name, e.g. {@code letter-sum}. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The skill whose command-line name is {@code name}.
     *
     * @throws InvalidInputException naming {@code --skill} when there is none
     */
    public static Skill fromCliName(String name) {
        for (Skill s : values()) {
            if (s.cliName().equals(name)) {
                return s;
            }
        }
        throw new InvalidInputException("--skill: unknown skill '" + name + "', expected one of "
                + Arrays.stream(values()).map(Skill::cliName).toList());
    }

    /** Whether the operand pair makes a problem of this skill. */
    boolean accepts(int a, int b) {
        return true;
    }

    /** The problem of operands a and b. */
    abstract ArithmeticCorpus.Problem problem(int a, int b);

    /** The decimal digits of {@code n}, each digit d replaced by {@code digits.charAt(d)}. */
    private static String spell(int n, String digits) {
        String decimal = Integer.toString(n);
        StringBuilder sb = new StringBuilder(decimal.length());
        for (int i = 0; i < decimal.length(); i++) {
            sb.append(digits.charAt(decimal.charAt(i) - '0'));
        }
        return sb.toString();
    }
}
