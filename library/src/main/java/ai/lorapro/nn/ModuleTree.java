package ai.lorapro.nn;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/** Walks a tree of {@link HfBlock}s by Hugging Face module path. */
public final class ModuleTree {

    private ModuleTree() {}

    /** Every parameter under {@code root}, keyed by its full dotted path, in model order. */
    public static Map<String, Parameter> namedParameters(Block root) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        forEachModule(
                root,
                (path, block) -> {
                    if (block instanceof HfBlock) {
                        ((HfBlock) block)
                                .namedParameters()
                                .forEach((name, p) -> out.put(join(path, name), p));
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

    /** Visits {@code root} and every {@link HfBlock} descendant in pre-order. */
    public static void forEachModule(Block root, BiConsumer<String, Block> visitor) {
        visit("", root, visitor);
    }

    private static void visit(String path, Block block, BiConsumer<String, Block> visitor) {
        visitor.accept(path, block);
        if (block instanceof HfBlock) {
            for (Map.Entry<String, Block> e : ((HfBlock) block).modules().entrySet()) {
                visit(join(path, e.getKey()), e.getValue(), visitor);
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
