package ai.lorapro.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DJL block whose children and parameters carry Hugging Face module names.
 *
 * <p>DJL prefixes child names with a running number ({@code 01q_proj}); checkpoints and PEFT
 * adapters need the plain dotted module paths ({@code model.layers.0.self_attn.q_proj.weight}).
 * Every block of our models extends this class so that {@link ModuleTree} can list those paths.
 *
 * <p>Parameters get their arrays from a checkpoint or from an explicit initialiser, never from
 * DJL's shape inference, so {@link #initialize} only marks gradients and recurses.
 */
public abstract class HfBlock extends AbstractBlock {

    private final Map<String, Block> modules = new LinkedHashMap<>();
    private final Map<String, Parameter> namedParameters = new LinkedHashMap<>();

    /** Registers a child module under its Hugging Face name and returns it. */
    protected final <B extends Block> B module(String hfName, B block) {
        if (modules.containsKey(hfName)) {
            throw new IllegalStateException("duplicate module name " + hfName);
        }
        modules.put(hfName, block);
        return addChildBlock(hfName, block);
    }

    /**
     * Registers a parameter under its Hugging Face name (relative to this module, e.g. {@code
     * weight} or {@code lora_A.weight}) and returns it.
     */
    protected final Parameter parameter(String hfName, Parameter parameter) {
        if (namedParameters.containsKey(hfName)) {
            throw new IllegalStateException("duplicate parameter name " + hfName);
        }
        namedParameters.put(hfName, parameter);
        return addParameter(parameter);
    }

    /**
     * Unregisters the parameter {@link #parameter} registered under {@code hfName} and returns it
     * (its array, if any, is the caller's to close).
     *
     * @throws IllegalStateException if no parameter has that name
     */
    protected final Parameter removeParameter(String hfName) {
        Parameter removed = namedParameters.remove(hfName);
        if (removed == null) {
            throw new IllegalStateException("no parameter named " + hfName);
        }
        parameters.remove(removed.getName());
        return removed;
    }

    /** The direct children, keyed by Hugging Face module name, in registration order. */
    public Map<String, Block> modules() {
        return Collections.unmodifiableMap(modules);
    }

    /** The direct parameters, keyed by Hugging Face name, in registration order. */
    public Map<String, Parameter> namedParameters() {
        return Collections.unmodifiableMap(namedParameters);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        for (Block child : modules.values()) {
            child.initialize(manager, dataType, inputShapes);
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        throw new UnsupportedOperationException(
                getClass().getSimpleName() + " does not infer output shapes; run a forward pass");
    }
}
