package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.HfBlock;

/**
 * A transformer feed-forward block, gated or plain, with {@link LoraLinear} projections.
 *
 * <ul>
 *   <li>gated: down(act(gate(x)) * up(x)) — Llama's SwiGLU ({@code gate_proj, up_proj,
 *       down_proj}), T5's gated-gelu ({@code wi_0, wi_1, wo});
 *   <li>plain: fc2(act(fc1(x))) — CLIP ({@code fc1, fc2}), T5's relu ({@code wi, wo}).
 * </ul>
 */
public final class Mlp extends HfBlock {

    private final Activation activation;
    private final LoraLinear gate;
    private final LoraLinear up;
    private final LoraLinear down;
    /** Dropout on the inner activations in training passes (T5's); 0 for none. */
    private final float innerDropout;

    private Mlp(Activation activation, LoraLinear gate, LoraLinear up, LoraLinear down, String[] names,
            float innerDropout) {
        this.activation = activation;
        this.innerDropout = innerDropout;
        this.gate = gate == null ? null : module(names[0], gate);
        this.up = module(names[1], up);
        this.down = module(names[2], down);
    }

    /**
     * A gated block: {@code down(dropout(act(gate(x)) * up(x)))}.
     *
     * @param hidden the model width
     * @param intermediate the inner width
     * @param activation applied to the gate
     * @param bias whether the projections have biases
     * @param gateName the name of the gate projection (gate_proj, wi_0)
     * @param upName the name of the ungated projection (up_proj, wi_1)
     * @param downName the name of the output projection (down_proj, wo)
     * @param innerDropout dropout on the inner activations in training passes: T5's {@code
     *     dropout_rate} ({@code T5DenseGatedActDense}), 0 for Llama
     */
    public static Mlp gated(
            int hidden,
            int intermediate,
            Activation activation,
            boolean bias,
            String gateName,
            String upName,
            String downName,
            float innerDropout) {
        return new Mlp(
                activation,
                Linears.create(hidden, intermediate, bias),
                Linears.create(hidden, intermediate, bias),
                Linears.create(intermediate, hidden, bias),
                new String[] {gateName, upName, downName},
                innerDropout);
    }

    /**
     * A plain block: {@code out(dropout(act(in(x))))}.
     *
     * @param hidden the model width
     * @param intermediate the inner width
     * @param activation applied between the projections
     * @param bias whether the projections have biases
     * @param inName the name of the first projection (fc1, wi)
     * @param outName the name of the second projection (fc2, wo)
     * @param innerDropout dropout on the inner activations in training passes: T5's {@code
     *     dropout_rate} ({@code T5DenseActDense}), 0 for CLIP
     */
    public static Mlp plain(int hidden, int intermediate, Activation activation, boolean bias, String inName,
            String outName, float innerDropout) {
        return new Mlp(
                activation,
                null,
                Linears.create(hidden, intermediate, bias),
                Linears.create(intermediate, hidden, bias),
                new String[] {null, inName, outName},
                innerDropout);
    }

    /** Applies the block to {@code x} [..., hidden]. */
    public NDArray forward(ParameterStore store, NDArray x, boolean training) {
        NDArray inner;
        if (gate != null) {
            inner = activation.apply(Linears.run(gate, store, x, training)).mul(Linears.run(up, store, x, training));
        } else {
            inner = activation.apply(Linears.run(up, store, x, training));
        }
        return Linears.run(down, store, Dropouts.apply(inner, innerDropout, training), training);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.singletonOrThrow(), training));
    }
}
