package ai.lorapro.models.t5;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.models.common.Mlp;
import ai.lorapro.models.common.RmsNorm;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.HfBlock;

/**
 * The feed-forward sub-layer of a T5 block ({@code T5LayerFF}): x +
 * dropout(DenseReluDense(layer_norm(x))), where DenseReluDense is {@code wo(dropout(act(wi(x))))}
 * or, gated, {@code wo(dropout(act(wi_0(x)) * wi_1(x)))}.
 */
public final class T5LayerFF extends HfBlock {

    private final Mlp denseReluDense;
    private final RmsNorm layerNorm;
    private final float dropoutRate;

    /** The feed-forward sub-layer of {@code config}. */
    public T5LayerFF(T5Config config) {
        int d = config.dModel();
        int ff = config.dFf();
        Mlp mlp =
                config.gatedAct()
                        ? Mlp.gated(d, ff, config.activation(), false, "wi_0", "wi_1", "wo", config.dropoutRate())
                        : Mlp.plain(d, ff, config.activation(), false, "wi", "wo", config.dropoutRate());
        this.denseReluDense = module("DenseReluDense", mlp);
        this.layerNorm = module("layer_norm", new RmsNorm(d, config.layerNormEpsilon()));
        this.dropoutRate = config.dropoutRate();
    }

    /** Applies the sub-layer to {@code hidden} [B, T, d_model]. */
    public NDArray forward(ParameterStore store, NDArray hidden, boolean training) {
        NDArray forwarded = denseReluDense.forward(store, layerNorm.forward(store, hidden, training), training);
        return hidden.add(Dropouts.apply(forwarded, dropoutRate, training));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }
}
