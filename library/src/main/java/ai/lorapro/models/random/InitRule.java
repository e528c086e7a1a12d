package ai.lorapro.models.random;

import ai.djl.ndarray.types.Shape;

/** The initialisation of each named parameter of one model family, as its Hugging Face code does it. */
@FunctionalInterface
public interface InitRule {

    /**
     * How the parameter {@code name} of shape {@code shape} starts.
     *
     * @throws IllegalStateException for a parameter the rule does not know
     */
    TensorInit of(String name, Shape shape);
}
