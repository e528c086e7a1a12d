package ai.lorapro.models.clip;

import ai.djl.ndarray.types.DataType;

/**
 * What the backward pass of one micro-batch of CLIP image classification keeps in activations, in
 * bytes (float32). Classification runs the vision tower only (the text tower runs once, without
 * gradients, to initialise the head), so the run's sequence length does not enter. For B images of
 * N = (image_size / patch_size)^2 + 1 tokens (the patches and the class token), width h, MLP width
 * i, n heads and L layers:
 *
 * <pre>
 *   per layer and token:  12 h + 3 i + 3 n N
 *       (2 layer norms' input and output, q k v, the attention output, out_proj, fc2's output,
 *        2 residuals; fc1's output, quick_gelu's sigmoid and product; 3 attention values per head
 *        and key)
 *   embeddings per token: 4 h   (the patch convolution, the position sum, pre_layrnorm)
 *   total = 4 B N (L (12 h + 3 i + 3 n N) + 4 h)
 * </pre>
 *
 * <p>With float16 base weights the training loop recomputes each encoder layer in the backward pass
 * (as for Llama), so only the hidden states between layers are kept, plus one layer's activations
 * and the float32 copies of one layer's widened weights:
 *
 * <pre>
 *   4 B N h (L + 1) + 4 B N (12 h + 3 i + 3 n N) + 4 (4 (h^2 + h) + 2 h i + i + 5 h)
 * </pre>
 *
 * (Left out, all small next to these: the widened patch-embedding and visual-projection weights,
 * and the recompute's leaf and gradient copies of one hidden state, 2 B N h values.)
 */
final class ClipActivations {

    private ClipActivations() {}

    /** The estimate of {@code c} for {@code microBatch} images. */
    static long bytes(ClipConfig c, int microBatch, DataType frozenType) {
        ClipTowerConfig tower = c.vision().tower();
        long h = tower.hiddenSize();
        long i = tower.intermediateSize();
        long tokens = c.vision().numPatches() + 1L;
        long perLayerPerToken = 12 * h + 3L * i + 3L * tower.numAttentionHeads() * tokens;
        if (frozenType != DataType.FLOAT16) {
            return 4L * microBatch * tokens * (tower.numHiddenLayers() * perLayerPerToken + 4 * h);
        }
        long boundaries = 4L * microBatch * tokens * h * (tower.numHiddenLayers() + 1L);
        long layer = 4L * microBatch * tokens * perLayerPerToken;
        long layerWeights = 4 * (h * h + h) + 2 * h * i + i + 5 * h;
        return boundaries + layer + 4 * layerWeights;
    }
}
