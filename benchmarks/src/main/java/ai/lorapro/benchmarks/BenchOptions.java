package ai.lorapro.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A benchmark's {@code --name value} options: each read with its default and checked, and, once
 * the benchmark has read all it takes ({@link #requireAllRead}), any other refused, so that a
 * mistyped option never runs the whole benchmark with defaults.
 */
final class BenchOptions {

    /** A mistake in the options: {@link Bench} prints it with the usage and exits with 2. */
    static final class UsageError extends RuntimeException {
        UsageError(String message) {
            super(message);
        }
    }

    private final Map<String, String> given = new LinkedHashMap<>();
    private final Set<String> read = new TreeSet<>();

    /** Parses {@code args}: pairs of {@code --name value}. */
    BenchOptions(List<String> args) {
        for (int i = 0; i < args.size(); i += 2) {
            String name = args.get(i);
            if (!name.startsWith("--")) {
                throw new UsageError("expected an option (--name value), got '" + name + "'");
            }
            if (i + 1 >= args.size()) {
                throw new UsageError(name + " needs a value");
            }
            if (given.put(name, args.get(i + 1)) != null) {
                throw new UsageError(name + " is given twice");
            }
        }
    }

    /** The value of {@code name}, or {@code fallback}. */
    String string(String name, String fallback) {
        read.add(name);
        return given.getOrDefault(name, fallback);
    }

    /** The whole number {@code name}, at least {@code min}, or {@code fallback}. */
    int integer(String name, int fallback, int min) {
        String text = string(name, Integer.toString(fallback));
        try {
            int value = Integer.parseInt(text.trim());
            if (value >= min) {
                return value;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UsageError(name + " must be a whole number of at least " + min + ", got '" + text + "'");
    }

    /** The number {@code name}, greater than 0, or {@code fallback}. */
    double positiveNumber(String name, double fallback) {
        String text = string(name, Double.toString(fallback));
        try {
            double value = Double.parseDouble(text.trim());
            if (value > 0 && Double.isFinite(value)) {
                return value;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new UsageError(name + " must be a number greater than 0, got '" + text + "'");
    }

    /** The comma-separated whole numbers of {@code name}, each at least 1, or {@code fallback}. */
    List<Integer> positives(String name, String fallback) {
        List<Integer> values = new ArrayList<>();
        String text = string(name, fallback);
        for (String part : text.split(",", -1)) {
            try {
                int value = Integer.parseInt(part.trim());
                if (value >= 1) {
                    values.add(value);
                    continue;
                }
            } catch (NumberFormatException e) {
                // said below
            }
            throw new UsageError(name + " must be whole numbers of at least 1, separated by commas, got '" + text + "'");
        }
        return values;
    }

    /**
     * The comma-separated names of {@code name}, each one of {@code allowed}, or {@code fallback}.
     */
    List<String> names(String name, List<String> fallback, List<String> allowed) {
        List<String> values = Arrays.asList(string(name, String.join(",", fallback)).split(",", -1));
        for (String value : values) {
            if (!allowed.contains(value)) {
                throw new UsageError(name + ": '" + value + "' is not one of " + String.join(", ", allowed));
            }
        }
        return values;
    }

    /** The one name of {@code name}, one of {@code allowed}, or {@code fallback}. */
    String name(String name, String fallback, List<String> allowed) {
        String value = string(name, fallback);
        if (!allowed.contains(value)) {
            throw new UsageError(name + ": '" + value + "' is not one of " + String.join(", ", allowed)
                    + (value.contains(",") ? " (it takes one)" : ""));
        }
        return value;
    }

    /** Refuses an option the benchmark did not read: a typo, or one of another benchmark. */
    void requireAllRead() {
        for (String name : given.keySet()) {
            if (!read.contains(name)) {
                throw new UsageError("unknown option " + name + " (this benchmark takes " + String.join(", ", read) + ")");
            }
        }
    }
}
