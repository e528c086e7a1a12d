package ai.lorapro.train;

import ai.lorapro.InvalidInputException;

import java.nio.file.Path;

/**
 * A resumed run whose {@link RunIdentity} differs from its checkpoint's in one field. A front end
 * may restate it in its own terms with {@link #describe}.
 */
public final class ResumeMismatchException extends InvalidInputException {

    private static final long serialVersionUID = 1L;

    private final transient Path checkpoint;
    private final String field;
    private final String saved;
    private final String current;
    private final boolean changeable;

    /**
     * @param checkpoint the checkpoint directory
     * @param field the {@link RunIdentity} field that differs
     * @param saved the checkpoint's value, or null when it has none
     * @param current this run's value
     * @param changeable whether the field is one of {@link RunIdentity#CHANGEABLE}
     */
    ResumeMismatchException(Path checkpoint, String field, String saved, String current, boolean changeable) {
        super(describe("checkpoint " + checkpoint, field, field, saved, current, changeable,
                "add " + field + " to the allowed resume changes"));
        this.checkpoint = checkpoint;
        this.field = field;
        this.saved = saved;
        this.current = current;
        this.changeable = changeable;
    }

    /** The checkpoint directory. */
    public Path checkpoint() {
        return checkpoint;
    }

    /** The {@link RunIdentity} field that differs. */
    public String field() {
        return field;
    }

    /** Whether the run may change the field when the user allows it. */
    public boolean changeable() {
        return changeable;
    }

    /**
     * The mismatch in one line.
     *
     * @param where what the checkpoint is called, e.g. {@code "checkpoint runs/x/checkpoints/step-000004"}
     * @param fieldName how the field is called, e.g. {@code "lr"}
     * @param howToAllow how the user allows a changeable field to differ
     */
    public String describe(String where, String fieldName, String howToAllow) {
        return describe(where, field, fieldName, saved, current, changeable, howToAllow);
    }

    private static String describe(String where, String field, String fieldName, String saved, String current, boolean changeable,
            String howToAllow) {
        return where + ": field " + fieldName + " differs: checkpoint " + (saved == null ? "(missing)" : saved)
                + ", this run " + current + (field.equals("base_model") ? " (another base model)" : "")
                + (changeable ? "; " + howToAllow + " if the change is deliberate" : "");
    }
}
