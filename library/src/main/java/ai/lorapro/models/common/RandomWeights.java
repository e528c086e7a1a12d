package ai.lorapro.models.common;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Sampling;
import ai.lorapro.nn.Weights;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fills a model with reproducible random weights the way Hugging Face's {@code _init_weights}
 * does: matrices and embeddings ~ N(0, std^2), norm scales 1, biases 0. Each parameter draws from
 * its own generator seeded by the seed and its path, so adding a layer does not change the others.
 */
public final class RandomWeights {

    private RandomWeights() {}

    /**
     * Initialises every parameter under {@code root} (shapes from {@link
     * CheckpointLoader#expectedShapes}) on {@code manager}.
     *
     * @param std the standard deviation of matrices ({@code initializer_range})
     */
    public static void initialize(Block root, NDManager manager, DataType type, long seed, float std) {
        Map<String, Shape> shapes = CheckpointLoader.expectedShapes(root);
        for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(root).entrySet()) {
            String name = e.getKey();
            Shape shape = shapes.get(name);
            float[] values = new float[Math.toIntExact(shape.size())];
            if (name.endsWith("bias")) {
                Arrays.fill(values, 0f);
            } else if (shape.dimension() == 1) {
                Arrays.fill(values, 1f);
            } else {
                SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) (Sampling.gaussian(rng) * std);
                }
            }
            Weights.assign(e.getValue(), manager.create(values, shape).toType(type, false));
        }
    }
}
