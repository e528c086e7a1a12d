package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.lorapro.lora.LoraLinear;

/** Creating and calling the {@link LoraLinear} projections of the shared blocks. */
public final class Linears {

    private Linears() {}

    /** A projection from {@code in} to {@code out} features, with or without bias. */
    public static LoraLinear create(int in, int out, boolean bias) {
        return LoraLinear.builder().setInFeatures(in).setOutFeatures(out).optBias(bias).build();
    }

    /** {@code layer(x)}. */
    public static NDArray run(LoraLinear layer, ParameterStore store, NDArray x, boolean training) {
        return layer.forward(store, new NDList(x), training).singletonOrThrow();
    }
}
