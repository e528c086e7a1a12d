package ai.lorapro.models.common;

import ai.djl.nn.Block;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.ModuleTree;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * What LoRA and LoRA-Pro cost on a model, computed from the shapes of its linear layers alone (no
 * arrays are created), so real model sizes can be reported without their weights.
 *
 * @param adaptedLayers the number of linear layers the configuration targets
 * @param trainableParameters sum of r (m + n) over the adapted m x n layers: the LoRA factors
 * @param adaptedWeightValues sum of m n over the adapted layers: one full-size matrix per layer,
 *     the size of the equivalent gradient
 */
public record LoraSizes(int adaptedLayers, long trainableParameters, long adaptedWeightValues) {

    /**
     * Counts the layers of {@code linearShapes} (module path to {out, in}) that {@code config}
     * targets; layers in {@code outputHeads} are skipped by all-linear, as {@code LoraInjector}
     * does.
     *
     * @throws ai.lorapro.InvalidInputException when r is larger than a targeted layer allows ({@link
     *     LoraConfig#checkFits}), as injecting the adapters would be
     */
    public static LoraSizes of(Map<String, long[]> linearShapes, Set<String> outputHeads, LoraConfig config) {
        int layers = 0;
        long trainable = 0;
        long full = 0;
        for (Map.Entry<String, long[]> e : linearShapes.entrySet()) {
            if (!config.matches(e.getKey(), outputHeads.contains(e.getKey()))) {
                continue;
            }
            long m = e.getValue()[0];
            long n = e.getValue()[1];
            config.checkFits(e.getKey(), (int) n, (int) m);
            layers++;
            trainable += (long) config.getR() * (m + n);
            full += m * n;
        }
        return new LoraSizes(layers, trainable, full);
    }

    /**
     * Counts the linear layers of {@code model} (built but without weights) that {@code config}
     * targets, leaving out its declared output heads under all-linear.
     */
    public static LoraSizes of(Block model, LoraConfig config) {
        Set<String> heads = model instanceof HasOutputHead ? ((HasOutputHead) model).outputHeadPaths() : Set.of();
        return of(linearShapes(model), heads, config);
    }

    /** The {out, in} shape of every linear layer of {@code model} (built, with or without weights), by module path. */
    public static Map<String, long[]> linearShapes(Block model) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        ModuleTree.forEachModule(model, (path, block) -> {
            if (block instanceof LoraLinear) {
                LoraLinear l = (LoraLinear) block;
                shapes.put(path, new long[] {l.getOutFeatures(), l.getInFeatures()});
            }
        });
        return shapes;
    }

    /**
     * The values LoRA-Pro's full mode keeps in its AdamW state: the first and second moments of
     * the equivalent gradient, two full-size matrices per adapted layer.
     */
    public long loraProFullStateValues() {
        return 2 * adaptedWeightValues;
    }

    /** {@link #loraProFullStateValues()} in bytes when stored as float32. */
    public long loraProFullStateBytesFloat32() {
        return 4 * loraProFullStateValues();
    }
}
