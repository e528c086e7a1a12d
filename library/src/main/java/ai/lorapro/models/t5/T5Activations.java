package ai.lorapro.models.t5;

import ai.djl.ndarray.types.DataType;

/**
 * What the backward pass of one T5 micro-batch keeps in activations, in bytes (float32), counted as
 * for Llama. For B pairs of S source and T target tokens (both the run's sequence length), width h,
 * n heads of d_kv (inner width a = n d_kv), feed-forward width f (g = 2 when gated, else 1),
 * L_e encoder and L_d decoder layers and vocabulary V:
 *
 * <pre>
 *   encoder layer, per source token:  7 h + 4 a + 2 g f + 3 n S
 *       (2 norms' input and output, q k v and the attention output, o, 2 residuals; wi's output(s),
 *        the activation and the gate product; 3 attention values per head and key)
 *   decoder layer, per target token:  12 h + 6 a + 2 g f + 3 n (T + S),  plus 2 a per source token
 *       (a third norm, the cross-attention's q, output and o; its k and v over the encoder output)
 *   head, per target token:           3 V + h   (logits, softmax, gradient; the scaled decoder output)
 *   total = 4 B [ L_e S (encoder) + L_d (T decoder + 2 a S) + T (3 V + h) ]
 * </pre>
 *
 * <p>With float16 base weights every weight is widened to a float32 copy inside the pass (no layer
 * is recomputed), and autograd keeps those copies until the backward pass: 4 bytes per base
 * parameter more.
 */
final class T5Activations {

    private T5Activations() {}

    /** The estimate of {@code c} for {@code microBatch} pairs of {@code sequenceLength} tokens each side. */
    static long bytes(T5Config c, long baseParameters, int microBatch, int sequenceLength, DataType frozenType) {
        long h = c.dModel();
        long heads = c.numHeads();
        long inner = heads * c.dKv();
        long ff = (c.gatedAct() ? 4L : 2L) * c.dFf();
        long source = sequenceLength;
        long target = sequenceLength;
        long encoderPerToken = 7 * h + 4 * inner + ff + 3 * heads * source;
        long decoderPerToken = 12 * h + 6 * inner + ff + 3 * heads * (target + source);
        long values = c.numLayers() * source * encoderPerToken
                + c.numDecoderLayers() * (target * decoderPerToken + 2 * inner * source)
                + target * (3L * c.vocabSize() + h);
        long widened = frozenType == DataType.FLOAT16 ? 4 * baseParameters : 0;
        return 4L * microBatch * values + widened;
    }
}
