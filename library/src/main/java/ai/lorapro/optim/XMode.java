package ai.lorapro.optim;

import ai.lorapro.InvalidFieldException;

import java.util.Locale;

/**
 * How LoRA-Pro chooses the free r x r matrix X of its adjusted gradients.
 *
 * <p>Every X gives the same equivalent gradient; X only decides how the update is split between A
 * and B.
 */
public enum XMode {
    /**
     * The X that keeps the adjusted gradients closest to the plain LoRA gradients: the solution of
     * the Sylvester equation (B^T B) X + X (A A^T) = -(1/s^2) (B^T B)^-1 gA A^T (the paper's
     * Theorem 2.3).
     */
    SYLVESTER,
    /** The closed form X = -(1/(2 s^2)) (B^T B)^-1 B^T gB (A A^T), which makes the update symmetric. */
    SYMMETRY,
    /** X = 0. */
    ZERO;

    /**
     * Parses {@code sylvester}, {@code symmetry} or {@code zero} (any case).
     *
     * @throws InvalidFieldException naming the field for any other value
     */
    public static XMode fromString(String value) {
        if (value != null) {
            for (XMode mode : values()) {
                if (mode.name().equalsIgnoreCase(value.trim())) {
                    return mode;
                }
            }
        }
        throw new InvalidFieldException("x_mode", "must be sylvester, symmetry or zero, got '" + value + "'");
    }

    /** The lower-case name used in configuration files. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
