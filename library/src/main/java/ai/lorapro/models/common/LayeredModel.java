package ai.lorapro.models.common;

import ai.djl.ndarray.NDArray;
import ai.djl.training.ParameterStore;

/** A causal language model whose forward pass can be split at layer boundaries ({@link LayeredPass}). */
public interface LayeredModel extends CausalLanguageModel {

    /**
     * The pass over {@code inputIds} without KV cache, split at layer boundaries; its {@link
     * LayeredPass#head} returns the logits that {@link #logits} would.
     *
     * @param store the parameter store
     * @param inputIds [B, T] token ids (INT64)
     * @param attentionMask [B, T], 1 for tokens and 0 for padding, or null
     * @param training whether this is a training pass
     */
    LayeredPass layeredPass(ParameterStore store, NDArray inputIds, NDArray attentionMask, boolean training);
}
