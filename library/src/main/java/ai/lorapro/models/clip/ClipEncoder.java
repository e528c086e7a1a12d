package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.HfModuleList;

/** The stack of {@link ClipEncoderLayer}s of a CLIP tower ({@code encoder.layers}). */
public final class ClipEncoder extends HfBlock {

    private final HfModuleList<ClipEncoderLayer> layers;

    /** A stack of {@code num_hidden_layers} layers. */
    public ClipEncoder(ClipTowerConfig config) {
        this.layers = module("layers", new HfModuleList<>());
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(new ClipEncoderLayer(config));
        }
    }

    /** The layers. */
    public HfModuleList<ClipEncoderLayer> getLayers() {
        return layers;
    }

    /** Runs every layer with the same additive {@code mask} (or null). */
    public NDArray forward(ParameterStore store, NDArray hidden, NDArray mask, boolean training) {
        NDArray h = hidden;
        for (ClipEncoderLayer layer : layers.layers()) {
            h = layer.forward(store, h, mask, training);
        }
        return h;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray mask = inputs.size() > 1 ? inputs.get(1) : null;
        return new NDList(forward(store, inputs.get(0), mask, training));
    }
}
