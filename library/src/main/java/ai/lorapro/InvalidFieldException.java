package ai.lorapro;

/**
 * A settings value that cannot be used, naming the field that holds it ({@code micro_batch},
 * {@code lr}, ...): the settings records of the library throw it from their constructors. The
 * message is {@code "<field> <problem>"}; a front end that sets the field from an option of its own
 * (the command line's {@code --micro-batch}) can restate the problem under that name.
 */
public class InvalidFieldException extends InvalidInputException {

    private static final long serialVersionUID = 1L;

    private final String field;
    private final String problem;

    /**
     * @param field the field's name, in snake case as in the checkpoint files ({@code global_batch})
     * @param problem what is wrong with its value, e.g. {@code "must be >= 1, got 0"}
     */
    public InvalidFieldException(String field, String problem) {
        this(field, problem, field + " " + problem);
    }

    /**
     * For a subclass whose message words the field otherwise.
     *
     * @param field the field's name
     * @param problem what is wrong with its value
     * @param message the whole message
     */
    protected InvalidFieldException(String field, String problem, String message) {
        super(message);
        this.field = field;
        this.problem = problem;
    }

    /**
     * Throws an {@link InvalidFieldException} for {@code field} unless {@code condition} holds.
     *
     * @param condition whether the value is valid
     * @param field the field's name
     * @param problem what is wrong otherwise
     */
    public static void require(boolean condition, String field, String problem) {
        if (!condition) {
            throw new InvalidFieldException(field, problem);
        }
    }

    /** The field's name. */
    public String field() {
        return field;
    }

    /** What is wrong with the value, without the field's name. */
    public String problem() {
        return problem;
    }
}
