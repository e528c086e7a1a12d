package ai.lorapro.models.llama;

import ai.djl.ndarray.types.DataType;
import ai.lorapro.models.common.LoraSizes;

import java.util.Map;

/**
 * What the backward pass of one Llama micro-batch keeps in activations, in bytes (float32). For B
 * sequences of T tokens, hidden size h, MLP width i, n heads, L layers and vocabulary V:
 *
 * <pre>
 *   layer = 4 B T (16 h + 5 i + 3 n T)      per decoder layer: about 16 hidden-sized values per token
 *                                            (norms, q k v o, rotary, residuals), 5 MLP-sized ones (gate,
 *                                            up, silu, product, down's input) and 3 attention values per
 *                                            head and key (scores, mask, softmax)
 *   head  = 4 B T 3 V                        logits, their softmax and its gradient
 *   float32 weights:  L layer + head
 *   float16 weights:  4 B T h (L + 1) + layer + 4 W + head
 * </pre>
 *
 * <p>With float16 base weights the training loop recomputes each layer in the backward pass, so only
 * the hidden states between layers are kept, plus one layer's activations and the float32 copies of
 * the largest set of weights widened at once: W values, one decoder layer's linear weights or the
 * output head's, whichever is larger.
 */
final class LlamaActivations {

    private LlamaActivations() {}

    /** The estimate of {@code c} for {@code microBatch} sequences of {@code sequenceLength} tokens. */
    static long bytes(LlamaConfig c, int microBatch, int sequenceLength, DataType frozenType) {
        long tokens = (long) microBatch * sequenceLength;
        long perLayerPerToken = 16L * c.hiddenSize() + 5L * c.intermediateSize()
                + 3L * c.numAttentionHeads() * sequenceLength;
        long layer = 4 * tokens * perLayerPerToken;
        long head = 4 * tokens * 3L * c.vocabSize();
        if (frozenType != DataType.FLOAT16) {
            return c.numHiddenLayers() * layer + head;
        }
        long boundaries = 4 * tokens * c.hiddenSize() * (c.numHiddenLayers() + 1L);
        return boundaries + layer + 4 * largestWidenedWeights(c) + head;
    }

    /** The values of one decoder layer's linear weights or of the largest other linear layer. */
    private static long largestWidenedWeights(LlamaConfig c) {
        long other = 0;
        long layerWeights = 0;
        for (Map.Entry<String, long[]> e : LoraSizes.linearShapes(new LlamaForCausalLM(c)).entrySet()) {
            long values = e.getValue()[0] * e.getValue()[1];
            if (e.getKey().startsWith("model.layers.0.")) {
                layerWeights += values;
            } else if (!e.getKey().startsWith("model.layers.")) {
                other = Math.max(other, values);
            }
        }
        return Math.max(other, layerWeights);
    }
}
