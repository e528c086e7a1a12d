package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** The command line's names of enum constants: lower case, dash-separated ({@code LORA_PRO} is {@code lora-pro}). */
final class EnumNames {

    private EnumNames() {}

    /** The command-line name of {@code value}. */
    static String of(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The names of every constant of {@code type}, in declaration order. */
    static List<String> all(Class<? extends Enum<?>> type) {
        return Arrays.stream(type.getEnumConstants()).map(EnumNames::of).toList();
    }

    /**
     * The constant of {@code type} named {@code name} on the command line.
     *
     * @param option the option that gave the name, for the message
     * @throws InvalidInputException naming the option and the allowed names
     */
    static <E extends Enum<E>> E parse(Class<E> type, String option, String name) {
        for (E value : type.getEnumConstants()) {
            if (of(value).equals(name)) {
                return value;
            }
        }
        throw new InvalidInputException(option + ": unknown value '" + name + "' (expected one of: "
                + all(type).stream().collect(Collectors.joining(", ")) + ")");
    }

    /** The {@code --method} names, for help and completion. */
    static final class Methods extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        Methods() {
            super(all(ai.lorapro.train.Method.class));
        }
    }

    /** The {@code --x-mode} names, for help and completion. */
    static final class XModes extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        XModes() {
            super(all(ai.lorapro.optim.XMode.class));
        }
    }

    /** The {@code --state-dtype} names, for help and completion. */
    static final class StateDTypes extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        StateDTypes() {
            super(all(ai.lorapro.optim.StateDType.class));
        }
    }

    /** The {@code --device} names, for help and completion. */
    static final class Devices extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        Devices() {
            super(all(ai.lorapro.train.DeviceChoice.class));
        }
    }
}
