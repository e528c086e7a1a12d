package ai.lorapro.cli;

import picocli.CommandLine;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Reports a usage error (an unknown option, a missing or malformed value) as one {@code error:}
 * line with a hint where the options are listed, instead of the whole usage text, and exits with
 * {@link ExitCodes#BAD_INPUT}.
 */
final class UsageErrors implements IParameterExceptionHandler {

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        String name = cmd.getCommandSpec().qualifiedName();
        String message = e.getMessage() == null ? "bad usage" : e.getMessage().replace('\n', ' ').strip();
        // picocli words some of its messages "Error: ..." (mutually exclusive options): one prefix is enough
        if (message.startsWith("Error: ")) {
            message = message.substring("Error: ".length());
        }
        // a mistyped command or option: picocli knows the near names ("trian" -> train)
        if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
            message += "; did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?";
        }
        cmd.getErr().println("error: " + message + " (see '" + name + " --help')");
        cmd.getErr().flush();
        return ExitCodes.BAD_INPUT;
    }
}
