package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Maps failures to exit codes: 0 success, 2 bad input or usage ({@link InvalidInputException} and
 * picocli's parameter errors), 1 anything else. Errors print as one {@code error:} line, a settings
 * field named by its flag ({@link FieldErrors}); the stack trace goes to the debug log.
 */
public final class ExitCodes implements IExecutionExceptionHandler {

    /** The command succeeded. */
    public static final int OK = 0;
    /** An unexpected failure. */
    public static final int FAILURE = 1;
    /** Bad input: an option, a file, a field or a line the user can fix. */
    public static final int BAD_INPUT = 2;

    private static final Logger LOGGER = LoggerFactory.getLogger(ExitCodes.class);

    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine,
            ParseResult parseResult) {
        LOGGER.debug("command failed", e);
        commandLine.getErr().println("error: " + FieldErrors.message(e, commandLine));
        commandLine.getErr().flush();
        return e instanceof InvalidInputException ? BAD_INPUT : FAILURE;
    }
}
