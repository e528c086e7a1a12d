package ai.lorapro.nn;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Walks a tree of blocks by module path: an {@link HfBlock}'s children and parameters by their
 * Hugging Face names, any other DJL block's (a {@code SequentialBlock} of {@code LoraLinear}s, say)
 * by DJL's own names ({@code 01LoraLinear}). Injection, adapters, merging and the optimizers all
 * walk a model through here, so they see the same layers under the same names.
 */
public final class ModuleTree {

    private ModuleTree() {}

    /** Every parameter under {@code root}, keyed by its full dotted path, in model order. */
    public static Map<String, Parameter> namedParameters(Block root) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        forEachModule(root, (path, block) -> {
            if (block instanceof HfBlock) {
                ((HfBlock) block).namedParameters().forEach((name, p) -> out.put(join(path, name), p));
            } else {
                for (Pair<String, Parameter> p : block.getDirectParameters()) {
                    out.put(join(path, p.getKey()), p.getValue());
                }
            }
        });
        return out;
    }

    /** Every module under {@code root} (the root itself has path ""), keyed by dotted path. */
    public static Map<String, Block> namedModules(Block root) {
        Map<String, Block> out = new LinkedHashMap<>();
        forEachModule(root, out::put);
        return out;
    }

    /** Visits {@code root} and every descendant in pre-order. */
    public static void forEachModule(Block root, BiConsumer<String, Block> visitor) {
        visit("", root, visitor);
    }

    private static void visit(String path, Block block, BiConsumer<String, Block> visitor) {
        visitor.accept(path, block);
        if (block instanceof HfBlock) {
            for (Map.Entry<String, Block> e : ((HfBlock) block).modules().entrySet()) {
                visit(join(path, e.getKey()), e.getValue(), visitor);
            }
        } else {
            for (Pair<String, Block> child : block.getChildren()) {
                visit(join(path, child.getKey()), child.getValue(), visitor);
            }
        }
    }

    /** Joins two dotted path segments, either of which may be empty. */
    public static String join(String prefix, String name) {
        if (prefix.isEmpty()) {
            return name;
        }
        return name.isEmpty() ? prefix : prefix + "." + name;
    }

    /**
     * Whether the module at dotted {@code path} is named {@code name} as PEFT matches module names
     * ({@code target_modules}, {@code modules_to_save}): the whole path, or its last segments.
     */
    public static boolean isNamed(String path, String name) {
        return path.equals(name) || path.endsWith("." + name);
    }
}
