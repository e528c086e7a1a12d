package ai.lorapro.optim;

import ai.djl.nn.Parameter;
import ai.lorapro.InvalidFieldException;

import java.util.Objects;

/**
 * One LoRA factor pair W = W0 + s B A that a LoRA-Pro optimizer updates jointly.
 *
 * <p>The name is the adapted module's path (e.g. {@code model.layers.0.self_attn.q_proj}); it keys
 * the pair's optimizer state so that a checkpoint can be resumed in another process.
 */
public final class LoraPair {

    private final String name;
    private final Parameter loraA;
    private final Parameter loraB;
    private final float scaling;

    /**
     * Describes a pair.
     *
     * @param name a stable name for the pair, unique within one optimizer
     * @param loraA A (r x n)
     * @param loraB B (m x r)
     * @param scaling s, finite and positive
     * @throws InvalidFieldException naming {@code scaling} if it is not
     * @throws IllegalArgumentException if A and B are one parameter
     */
    public LoraPair(String name, Parameter loraA, Parameter loraB, float scaling) {
        this.name = Objects.requireNonNull(name, "name");
        this.loraA = Objects.requireNonNull(loraA, "loraA");
        this.loraB = Objects.requireNonNull(loraB, "loraB");
        InvalidFieldException.require(scaling > 0 && Float.isFinite(scaling), "scaling",
                "must be finite and > 0, got " + scaling + " for LoRA pair " + name);
        if (loraA.getId().equals(loraB.getId())) {
            throw new IllegalArgumentException("LoRA pair " + name + " uses the same parameter as A and B");
        }
        this.scaling = scaling;
    }

    /** The pair's name. */
    public String getName() {
        return name;
    }

    /** The parameter A (r x n). */
    public Parameter getLoraA() {
        return loraA;
    }

    /** The parameter B (m x r). */
    public Parameter getLoraB() {
        return loraB;
    }

    /** The scaling s. */
    public float getScaling() {
        return scaling;
    }

    @Override
    public String toString() {
        return "LoraPair{" + name + ", s=" + scaling + '}';
    }
}
