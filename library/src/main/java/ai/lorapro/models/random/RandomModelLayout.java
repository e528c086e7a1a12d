package ai.lorapro.models.random;

import ai.djl.ndarray.types.Shape;
import ai.lorapro.data.ByteTokenizerJson;
import ai.lorapro.models.common.CheckpointLoader;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a random-weight model of one configuration consists of: the parameters the project's model
 * class loads (names and shapes, in module order), how each starts, and the tokenizer that fits it
 * (null for a model without text input).
 *
 * @param shapes the checkpoint's tensors, as {@link CheckpointLoader#expectedShapes} lists them
 * @param init the family's initialisation
 * @param tokenizer a byte-level tokenizer with the config's special tokens, or null
 */
public record RandomModelLayout(Map<String, Shape> shapes, InitRule init, ByteTokenizerJson tokenizer) {

    /** Keeps an unmodifiable copy of the shapes in their order. */
    public RandomModelLayout {
        shapes = Collections.unmodifiableMap(new LinkedHashMap<>(shapes));
    }

    /** The number of parameters (tied weights counted once). */
    public long parameterCount() {
        return shapes.values().stream().mapToLong(Shape::size).sum();
    }
}
