package ai.lorapro.train;

import ai.lorapro.InvalidInputException;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Collectors;

/** Parses the lower-case, dash-separated command-line names of the training enums. */
final class CliNames {

    private CliNames() {}

    /** The command-line name of an enum constant: {@code LORA_PRO} becomes {@code lora-pro}. */
    static String of(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The constant whose command-line name is {@code name}, or an error naming the option. */
    static <E extends Enum<E>> E parse(Class<E> type, String option, String name) {
        for (E value : type.getEnumConstants()) {
            if (of(value).equals(name)) {
                return value;
            }
        }
        String allowed = Arrays.stream(type.getEnumConstants())
                .map((Function<E, String>) CliNames::of)
                .collect(Collectors.joining(", "));
        throw new InvalidInputException(
                option + ": unknown value '" + name + "' (expected one of: " + allowed + ")");
    }
}
