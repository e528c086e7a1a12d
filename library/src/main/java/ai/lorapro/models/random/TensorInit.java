package ai.lorapro.models.random;

/**
 * How one tensor starts: every element N(0, std^2) when {@code std > 0}, else every element
 * {@code constant}.
 *
 * @param std the standard deviation of a normal initialisation, or 0
 * @param constant the value of a constant initialisation
 */
public record TensorInit(double std, float constant) {

    /** Checks that {@code std} is finite and not negative. */
    public TensorInit {
        if (!(std >= 0) || Double.isInfinite(std)) {
            throw new IllegalArgumentException("std must be finite and >= 0, got " + std);
        }
    }

    /** Elements drawn from N(0, std^2). */
    public static TensorInit normal(double std) {
        if (!(std > 0)) {
            throw new IllegalArgumentException("a normal initialisation needs std > 0, got " + std);
        }
        return new TensorInit(std, 0f);
    }

    /** Every element {@code value} (1 for norm scales, 0 for biases). */
    public static TensorInit constant(float value) {
        return new TensorInit(0, value);
    }

    /** Whether the elements are random. */
    public boolean isNormal() {
        return std > 0;
    }
}
