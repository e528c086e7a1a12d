package ai.lorapro.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * Warns about options given on a command line whose rest makes them idle ({@code lorapro:
 * warning: --eval-interval has no effect without --eval-data}), so that a typo or a forgotten
 * option does not go unseen. The command still runs.
 */
final class IdleOptions {

    private final CommandLine.ParseResult parsed;
    private final List<String> warnings = new ArrayList<>();

    IdleOptions(CommandLine.Model.CommandSpec spec) {
        this.parsed = spec.commandLine().getParseResult();
    }

    /**
     * Notes each of {@code options} the user gave, if {@code idle}.
     *
     * @param reason why they do nothing, after "has no effect" ({@code without --task})
     */
    IdleOptions when(boolean idle, List<String> options, String reason) {
        if (idle) {
            options.stream().filter(parsed::hasMatchedOption)
                    .forEach(option -> warnings.add(option + " has no effect " + reason));
        }
        return this;
    }

    /** Prints the warnings, one line each. */
    void print(PrintWriter err) {
        warnings.forEach(warning -> err.println("lorapro: warning: " + warning));
        err.flush();
    }
}
