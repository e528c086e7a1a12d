package ai.lorapro.optim;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.ModuleTree;

import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Finds the LoRA pairs and names the parameters of a block tree. Hugging Face style subtrees
 * ({@link HfBlock}) are named by their module paths; plain DJL containers such as a {@code
 * SequentialBlock} by DJL's child names, which are deterministic for a given model definition.
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
        visit("", root, pairs, names);
    }

    private static void visit(String path, Block block, Map<String, LoraPair> pairs,
            BiConsumer<String, Parameter> names) {
        if (block instanceof HfBlock) {
            for (Map.Entry<String, LoraLinear> e : LoraInjector.adaptedLayers(block).entrySet()) {
                String name = ModuleTree.join(path, e.getKey());
                LoraLinear layer = e.getValue();
                LoraPair pair =
                        new LoraPair(
                                name.isEmpty() ? ROOT_NAME : name,
                                layer.getLoraA(),
                                layer.getLoraB(),
                                layer.getScaling());
                pairs.put(pair.getName(), pair);
            }
            for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(block).entrySet()) {
                names.accept(ModuleTree.join(path, e.getKey()), e.getValue());
            }
            return;
        }
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            names.accept(ModuleTree.join(path, p.getKey()), p.getValue());
        }
        for (Pair<String, Block> child : block.getChildren()) {
            visit(ModuleTree.join(path, child.getKey()), child.getValue(), pairs, names);
        }
    }
}
