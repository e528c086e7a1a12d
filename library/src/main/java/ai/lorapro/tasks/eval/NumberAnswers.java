package ai.lorapro.tasks.eval;

import java.math.BigDecimal;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Final-number extraction for GSM8K: the reference is the number after {@code ####}; a model's
 * answer is the first number after its last "The answer is", else the last number it wrote.
 * Thousands separators are removed and numbers compare by value ({@code 18} equals {@code 18.00}).
 */
public final class NumberAnswers {

    private static final Pattern NUMBER = Pattern.compile("-?\\d[\\d,]*(?:\\.\\d+)?|-?\\.\\d+");
    private static final String ANSWER_MARK = "the answer is";
    private static final String REFERENCE_MARK = "####";

    private NumberAnswers() {}

    /** The number after {@code ####} in a GSM8K reference answer, empty if there is none. */
    public static Optional<String> reference(String answer) {
        int mark = answer.lastIndexOf(REFERENCE_MARK);
        if (mark < 0) {
            return Optional.empty();
        }
        return firstNumber(answer.substring(mark + REFERENCE_MARK.length()));
    }

    /** The model's final number, empty if it wrote none. */
    public static Optional<String> prediction(String output) {
        // the mark is searched in the output itself: lower-casing can change a string's length
        // ('İ' becomes two chars), and an index into the lower-cased copy would miss or overrun
        int mark = lastIndexIgnoringCase(output, ANSWER_MARK);
        if (mark >= 0) {
            Optional<String> after = firstNumber(output.substring(mark + ANSWER_MARK.length()));
            if (after.isPresent()) {
                return after;
            }
        }
        Matcher matcher = NUMBER.matcher(output);
        String last = null;
        while (matcher.find()) {
            last = matcher.group();
        }
        return Optional.ofNullable(last).map(NumberAnswers::clean);
    }

    /** The last index of {@code mark} (lower case ASCII) in {@code text}, in any case; -1 if none. */
    private static int lastIndexIgnoringCase(String text, String mark) {
        for (int i = text.length() - mark.length(); i >= 0; i--) {
            if (text.regionMatches(true, i, mark, 0, mark.length())) {
                return i;
            }
        }
        return -1;
    }

    /** Whether two extracted numbers are equal by value. */
    public static boolean sameValue(String a, String b) {
        try {
            return new BigDecimal(a).compareTo(new BigDecimal(b)) == 0;
        } catch (NumberFormatException e) {
            return a.equals(b);
        }
    }

    private static Optional<String> firstNumber(String text) {
        Matcher matcher = NUMBER.matcher(text);
        return matcher.find() ? Optional.of(clean(matcher.group())) : Optional.empty();
    }

    private static String clean(String number) {
        String plain = number.replace(",", "");
        return plain.endsWith(".") ? plain.substring(0, plain.length() - 1) : plain;
    }
}
