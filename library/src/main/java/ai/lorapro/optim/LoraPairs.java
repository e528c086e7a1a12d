package ai.lorapro.optim;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.ModuleTree;

import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Finds the LoRA pairs and names the parameters of a block tree, by {@link ModuleTree}'s paths:
 * Hugging Face style subtrees ({@link HfBlock}) by their module paths, plain DJL containers such as
 * a {@code SequentialBlock} by DJL's child names, which are deterministic for a given model
 * definition.
 */
final class LoraPairs {

    /** The pair name used when the root itself is the adapted layer. */
    static final String ROOT_NAME = "root";

    private LoraPairs() {}

    /**
     * Adds every adapted {@link LoraLinear} under {@code root} to {@code pairs}, and hands the dotted
     * name of every parameter, with the parameter, to {@code names}.
     */
    static void collect(Block root, Map<String, LoraPair> pairs, BiConsumer<String, Parameter> names) {
        // the walk of injection and adapters (ModuleTree), so that pairs carry the names they give
        for (Map.Entry<String, LoraLinear> e : LoraInjector.adaptedLayers(root).entrySet()) {
            LoraLinear layer = e.getValue();
            LoraPair pair = new LoraPair(e.getKey().isEmpty() ? ROOT_NAME : e.getKey(), layer.getLoraA(),
                    layer.getLoraB(), layer.getScaling());
            pairs.put(pair.getName(), pair);
        }
        ModuleTree.namedParameters(root).forEach(names);
    }
}
