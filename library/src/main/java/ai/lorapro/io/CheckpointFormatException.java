package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

/** A checkpoint, adapter or tensor file that is malformed or does not fit the model. */
public class CheckpointFormatException extends InvalidInputException {

    private static final long serialVersionUID = 1L;

    /** An exception whose message names the file and, where known, the tensor. */
    public CheckpointFormatException(String message) {
        super(message);
    }

    /** An exception whose message names the file and, where known, the tensor. */
    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
