package ai.lorapro.cli;

import ai.lorapro.InvalidFieldException;
import ai.lorapro.train.ResumeMismatchException;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

import java.util.HashMap;
import java.util.Map;

/**
 * Restates the library's field errors in the command line's terms: a field that one of the
 * command's {@link FieldOptions} sets is named by its flag ({@code micro_batch 5 must divide ...}
 * becomes {@code --micro-batch 5 must divide ...}), a changed field of a resumed run by its flag
 * and {@code --allow-resume-change}.
 */
final class FieldErrors {

    private FieldErrors() {}

    /**
     * The message for {@code e} raised by {@code command}: restated when it names a field the
     * command sets, else {@code e}'s own.
     */
    static String message(Exception e, CommandLine command) {
        Map<String, String> flags = flags(command.getCommandSpec());
        if (e instanceof ResumeMismatchException m) {
            String flag = flags.get(m.field());
            return m.describe("--resume " + m.checkpoint(), m.field() + (flag == null ? "" : " (" + flag + ")"),
                    "pass --allow-resume-change " + m.field());
        }
        if (e instanceof InvalidFieldException f && flags.containsKey(f.field())) {
            return flags.get(f.field()) + " " + f.problem();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getName();
    }

    /** The flags of every field the command's own options and its mixins (and theirs) set. */
    static Map<String, String> flags(CommandSpec spec) {
        Map<String, String> flags = new HashMap<>();
        if (spec.userObject() instanceof FieldOptions own) {
            flags.putAll(own.flags());
        }
        for (CommandSpec mixin : spec.mixins().values()) {
            flags.putAll(flags(mixin));
        }
        return flags;
    }
}
