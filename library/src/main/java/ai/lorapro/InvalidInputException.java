package ai.lorapro;

/**
 * Bad input from the user: a file, field, line or option that cannot be used. The message is one
 * line that names what is wrong and where; the command line maps it to exit code 2.
 */
public class InvalidInputException extends LoraProException {

    private static final long serialVersionUID = 1L;

    /** An exception whose message names the offending file, field or line. */
    public InvalidInputException(String message) {
        super(message);
    }

    /** An exception whose message names the offending file, field or line. */
    public InvalidInputException(String message, Throwable cause) {
        super(message, cause);
    }
}
