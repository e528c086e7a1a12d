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
 * <p>With float16 base weights every vision weight is widened to a float32 copy that autograd keeps
 * until the backward pass: 4 bytes per vision-tower parameter more.
 */
final class ClipActivations {

    private ClipActivations() {}

    /** The estimate of {@code c} for {@code microBatch} images. */
    static long bytes(ClipConfig c, long visionParameters, int microBatch, DataType frozenType) {
        ClipTowerConfig tower = c.vision().tower();
        long h = tower.hiddenSize();
        long tokens = c.vision().numPatches() + 1L;
        long perLayerPerToken = 12 * h + 3L * tower.intermediateSize() + 3L * tower.numAttentionHeads() * tokens;
        long values = tokens * (tower.numHiddenLayers() * perLayerPerToken + 4 * h);
        long widened = frozenType == DataType.FLOAT16 ? 4 * visionParameters : 0;
        return 4L * microBatch * values + widened;
    }
}
