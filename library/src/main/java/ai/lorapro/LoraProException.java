package ai.lorapro;

/** Base of the library's unchecked exceptions. */
public class LoraProException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** An exception with a message. */
    public LoraProException(String message) {
        super(message);
    }

    /** An exception with a message and a cause. */
    public LoraProException(String message, Throwable cause) {
        super(message, cause);
    }
}
