package ai.lorapro.lora;

import ai.lorapro.InvalidInputException;

import java.util.regex.Pattern;

/**
 * Matches a regular expression chosen by whoever wrote an adapter config against a module path
 * within a budget of character reads, so that a pattern with catastrophic backtracking (such as
 * {@code (a+)+$} on a long name) is refused within milliseconds instead of running for hours.
 * Java's matcher reads its input only through {@link CharSequence#charAt}, so counting those
 * reads bounds its work.
 */
final class BoundedMatch {

    /** Character reads allowed per match: far above what a sane pattern needs on a module path. */
    static final long BUDGET = 1_000_000;

    private BoundedMatch() {}

    /**
     * Whether {@code pattern} matches the whole of {@code input}.
     *
     * @throws InvalidInputException naming the pattern when it needs more than {@link #BUDGET} reads
     */
    static boolean matches(Pattern pattern, String input) {
        try {
            return pattern.matcher(new Counted(input, pattern)).matches();
        } catch (StackOverflowError e) {
            throw tooExpensive(pattern, input);
        }
    }

    private static InvalidInputException tooExpensive(Pattern pattern, String input) {
        return new InvalidInputException("target_modules pattern '" + pattern.pattern() + "' needs more than "
                + BUDGET + " steps to match module '" + input + "' (catastrophic backtracking); simplify it");
    }

    /** A string whose reads are counted. */
    private static final class Counted implements CharSequence {
        private final String text;
        private final Pattern pattern;
        private long reads;

        Counted(String text, Pattern pattern) {
            this.text = text;
            this.pattern = pattern;
        }

        @Override
        public char charAt(int index) {
            if (++reads > BUDGET) {
                throw tooExpensive(pattern, text);
            }
            return text.charAt(index);
        }

        @Override
        public int length() {
            return text.length();
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return text.subSequence(start, end);
        }

        @Override
        public String toString() {
            return text;
        }
    }
}
