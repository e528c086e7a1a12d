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
 * <p>With float16 base weights the training loop recomputes each block in the backward pass
 * ({@link T5ForConditionalGeneration#layeredPass}), so it keeps only the states between blocks, plus
 * one block's activations and the float32 copies of the largest set of weights widened at once:
 *
 * <pre>
 *   states:   4 B h [ S (L_e + 1) + (T + S) (L_d + 1) ]   (from the middle step on, the state carries
 *             the encoder output beside the decoder's)
 *   total  =  states + max(encoder layer, decoder layer) + 4 W + head
 * </pre>
 *
 * with W the larger of one decoder block's linear weights (8 h a + (g + 1) f h) and the output
 * projection's (V h, also when it is the tied embedding table).
 */
final class T5Activations {

    private T5Activations() {}

    /** The estimate of {@code c} for {@code microBatch} pairs of {@code sequenceLength} tokens each side. */
    static long bytes(T5Config c, int microBatch, int sequenceLength, DataType frozenType) {
        long h = c.dModel();
        long heads = c.numHeads();
        long inner = heads * c.dKv();
        long gates = c.gatedAct() ? 2 : 1;
        long ff = 2 * gates * c.dFf();
        long source = sequenceLength;
        long target = sequenceLength;
        long encoderLayer = 4L * microBatch * source * (7 * h + 4 * inner + ff + 3 * heads * source);
        long decoderLayer = 4L * microBatch
                * (target * (12 * h + 6 * inner + ff + 3 * heads * (target + source)) + 2 * inner * source);
        long head = 4L * microBatch * target * (3L * c.vocabSize() + h);
        if (frozenType != DataType.FLOAT16) {
            return c.numLayers() * encoderLayer + c.numDecoderLayers() * decoderLayer + head;
        }
        long states = 4L * microBatch * h
                * (source * (c.numLayers() + 1L) + (target + source) * (c.numDecoderLayers() + 1L));
        long decoderWeights = 8 * h * inner + (gates + 1) * c.dFf() * h;
        long widened = Math.max(decoderWeights, (long) c.vocabSize() * h);
        return states + Math.max(encoderLayer, decoderLayer) + 4 * widened + head;
    }
}
