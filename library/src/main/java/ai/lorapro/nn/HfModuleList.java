package ai.lorapro.nn;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An indexed list of modules, named {@code 0, 1, 2, ...} like PyTorch's {@code nn.ModuleList}. It
 * only holds its children; the owning block decides how to run them.
 *
 * @param <B> the type of the layers
 */
public final class HfModuleList<B extends Block> extends HfBlock {

    private final List<B> layers = new ArrayList<>();

    /** Appends a layer, named by its index. */
    public B add(B layer) {
        module(Integer.toString(layers.size()), layer);
        layers.add(layer);
        return layer;
    }

    /** The layers in order. */
    public List<B> layers() {
        return Collections.unmodifiableList(layers);
    }

    /** The layer at {@code index}. */
    public B get(int index) {
        return layers.get(index);
    }

    /** The number of layers. */
    public int size() {
        return layers.size();
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        throw new UnsupportedOperationException("a module list is not callable; run its layers");
    }
}
