package ai.lorapro.lora;

import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.PassEntry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Attaches LoRA adapters to the {@link LoraLinear} layers of a model that a {@link LoraConfig}
 * targets, like PEFT's {@code inject_adapter}. A model with float16 base weights then computes in
 * float32: its {@link PassEntry} blocks widen their output.
 */
public final class LoraInjector {

    private static final Logger LOGGER = LoggerFactory.getLogger(LoraInjector.class);

    /** What a target module name that matches no layer of the model means. */
    public enum UnmatchedNames {
        /** An error: the user's own targets, where such a name is most likely a typo. */
        REFUSE,
        /**
         * A warning: an adapter's saved configuration, which PEFT loads as long as one name
         * matches (a list shared between architectures names modules some of them lack).
         */
        WARN
    }

    private LoraInjector() {}

    /**
     * Adds an adapter to every targeted linear layer under {@code root}; a target name that matches
     * no layer is refused.
     *
     * @return the dotted paths of the adapted modules, in model order
     * @throws InvalidInputException if the configuration targets nothing, or names a module that
     *     the model does not have
     * @throws IllegalStateException if a targeted layer already has an adapter (checked, like
     *     everything else, before the first layer is changed)
     */
    public static List<String> inject(Block root, LoraConfig config) {
        return inject(root, config, UnmatchedNames.REFUSE);
    }

    /**
     * {@link #inject(Block, LoraConfig)}, with target names that match no layer refused or only
     * warned about.
     *
     * @throws InvalidInputException if the configuration targets nothing, or (with {@code REFUSE})
     *     names a module that the model does not have
     */
    public static List<String> inject(Block root, LoraConfig config, UnmatchedNames unmatched) {
        Map<String, LoraLinear> targets = targets(root, config, unmatched);
        Set<String> unused = unmatchedNames(config, targets.keySet());
        if (!unused.isEmpty()) {
            LOGGER.warn("LoRA target module(s) {} match no linear layer of the model; the others are adapted", unused);
        }
        // every target checked before the first is changed: a refused configuration changes nothing
        List<String> adapted = new ArrayList<>();
        for (Map.Entry<String, LoraLinear> e : targets.entrySet()) {
            e.getValue().setSeedSalt(e.getKey().hashCode());
            e.getValue().addAdapter(config);
            adapted.add(e.getKey());
        }
        // float32 adapters in a float16 model: the pass runs in float32 from its first activations
        // (a LoraLinear given an adapter some other way does not do this)
        PassEntry.widenAll(root);
        return adapted;
    }

    /**
     * The linear layers under {@code root} that {@link #inject} would adapt, by module path in model
     * order, each checked to hold the configuration's rank; the model is not changed.
     *
     * @throws InvalidInputException as {@link #inject} does
     */
    public static Map<String, LoraLinear> targets(Block root, LoraConfig config) {
        return targets(root, config, UnmatchedNames.REFUSE);
    }

    /** {@link #targets(Block, LoraConfig)}, with unmatched target names as {@code onUnmatched} says. */
    public static Map<String, LoraLinear> targets(Block root, LoraConfig config, UnmatchedNames onUnmatched) {
        Set<String> heads =
                root instanceof HasOutputHead
                        ? ((HasOutputHead) root).outputHeadPaths()
                        : Collections.emptySet();
        Map<String, LoraLinear> targets = new LinkedHashMap<>();
        for (Map.Entry<String, Block> e : ModuleTree.namedModules(root).entrySet()) {
            if (!(e.getValue() instanceof LoraLinear)) {
                continue;
            }
            String path = e.getKey();
            if (!config.matches(path, heads.contains(path))) {
                continue;
            }
            LoraLinear layer = (LoraLinear) e.getValue();
            if (layer.hasAdapter()) {
                throw new IllegalStateException("layer " + path + " already has a LoRA adapter");
            }
            config.checkFits(path, layer.getInFeatures(), layer.getOutFeatures());
            targets.put(path, layer);
        }
        Set<String> unmatched = unmatchedNames(config, targets.keySet());
        if (!unmatched.isEmpty() && (onUnmatched == UnmatchedNames.REFUSE || targets.isEmpty())) {
            throw new InvalidInputException(
                    "LoRA target module(s) " + unmatched + " match no linear layer of the model");
        }
        if (targets.isEmpty()) {
            throw new InvalidInputException("LoRA configuration " + config + " targets no layer");
        }
        return targets;
    }

    /**
     * The target module names of {@code config} that name none of {@code paths} (module paths of
     * linear layers); {@code all-linear} is never among them.
     */
    public static Set<String> unmatchedNames(LoraConfig config, Collection<String> paths) {
        Set<String> unmatched = new LinkedHashSet<>(config.getTargetModules());
        unmatched.remove(LoraConfig.ALL_LINEAR);
        unmatched.removeIf(name -> paths.stream().anyMatch(path -> ModuleTree.isNamed(path, name)));
        return unmatched;
    }

    /** Every adapted layer under {@code root}, keyed by module path. */
    public static Map<String, LoraLinear> adaptedLayers(Block root) {
        Map<String, LoraLinear> out = new java.util.LinkedHashMap<>();
        ModuleTree.forEachModule(
                root,
                (path, block) -> {
                    if (block instanceof LoraLinear && ((LoraLinear) block).hasAdapter()) {
                        out.put(path, (LoraLinear) block);
                    }
                });
        return out;
    }

    /**
     * Removes the adapters of the layers at {@code paths} under {@code root} ({@link
     * LoraLinear#removeAdapter}), e.g. those {@link #inject} added, when what they were added for
     * failed. A float16 model keeps the float32 pass that {@code inject} gave it.
     *
     * @throws IllegalArgumentException if a path names no adapted layer
     */
    public static void remove(Block root, Collection<String> paths) {
        Map<String, LoraLinear> adapted = adaptedLayers(root);
        for (String path : paths) {
            LoraLinear layer = adapted.get(path);
            if (layer == null) {
                throw new IllegalArgumentException("no adapted layer at " + path);
            }
            layer.removeAdapter();
        }
    }

    /** Merges every adapter under {@code root} into its base weight. */
    public static void mergeAll(Block root) {
        adaptedLayers(root).values().forEach(LoraLinear::merge);
    }
}
