package ai.lorapro.models.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Fixtures;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.Test;

import java.util.Random;

/** The shared layers against their definitions, computed on the host in double precision. */
class CommonLayersTest {

    private static float[] randn(int n, long seed) {
        Random r = new Random(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextGaussian() * 2);
        }
        return out;
    }

    @Test
    void activationsMatchTheirFormulas() {
        float[] x = randn(200, 1);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.create(x);
            float[] silu = ai.lorapro.models.common.Activation.SILU.apply(a).toFloatArray();
            float[] gelu = ai.lorapro.models.common.Activation.GELU.apply(a).toFloatArray();
            float[] tanh = ai.lorapro.models.common.Activation.GELU_TANH.apply(a).toFloatArray();
            float[] quick = ai.lorapro.models.common.Activation.QUICK_GELU.apply(a).toFloatArray();
            float[] relu = ai.lorapro.models.common.Activation.RELU.apply(a).toFloatArray();
            // torch's own exact gelu (erf form) through DJL
            assertArrayEquals(Activation.gelu(a).toFloatArray(), gelu, 1e-5f);
            for (int i = 0; i < x.length; i++) {
                double v = x[i];
                assertEquals(v / (1 + Math.exp(-v)), silu[i], 1e-5);
                double t = Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v));
                assertEquals(0.5 * v * (1 + t), tanh[i], 1e-5);
                assertEquals(v / (1 + Math.exp(-1.702 * v)), quick[i], 1e-5);
                assertEquals(Math.max(v, 0), relu[i], 0);
            }
        }
        assertEquals(ai.lorapro.models.common.Activation.GELU_TANH,
                ai.lorapro.models.common.Activation.fromHfName("gelu_pytorch_tanh", "hidden_act"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ai.lorapro.models.common.Activation.fromHfName("mish", "dense_act_fn"));
        assertTrue(e.getMessage().contains("dense_act_fn"), e.getMessage());
    }

    @Test
    void anIdWithoutARowIsRefusedNamingTheTable() {
        try (NDManager m = NDManager.newBaseManager()) {
            ParameterStore store = new ParameterStore(m, false);
            Embedding embedding = Embedding.tokens(10, 4);
            embedding.getWeight().setArray(m.create(randn(40, 5), new Shape(10, 4)));
            assertEquals(new Shape(1, 2, 4), embedding.embed(store, m.create(new long[] {0, 9}, new Shape(1, 2)), false)
                    .getShape());
            // PyTorch's own error ("index out of range in self") named neither the id nor the table
            for (long id : new long[] {10, -1}) {
                InvalidInputException e = assertThrows(InvalidInputException.class,
                        () -> embedding.embed(store, m.create(new long[] {3, id}, new Shape(1, 2)), false));
                assertTrue(e.getMessage().contains("token id " + id + " has no row in the embedding table of 10 rows"),
                        e.getMessage());
            }
        }
    }

    @Test
    void rmsNormAndLayerNormMatchTheirFormulas() {
        int rows = 3;
        int width = 8;
        float[] x = randn(rows * width, 2);
        float[] w = randn(width, 3);
        float[] b = randn(width, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            ParameterStore store = new ParameterStore(m, false);
            RmsNorm rms = new RmsNorm(width, 1e-6f);
            rms.getWeight().setArray(m.create(w));
            float[] y = rms.forward(store, m.create(x, new Shape(rows, width)), false).toFloatArray();
            LayerNorm ln = new LayerNorm(width, 1e-5f);
            Weights.assign(ln.namedParameters().get("weight"), m.create(w));
            Weights.assign(ln.namedParameters().get("bias"), m.create(b));
            float[] z = ln.forward(store, m.create(x, new Shape(rows, width)), false).toFloatArray();
            for (int r = 0; r < rows; r++) {
                double sq = 0;
                double mean = 0;
                for (int i = 0; i < width; i++) {
                    sq += (double) x[r * width + i] * x[r * width + i];
                    mean += x[r * width + i];
                }
                mean /= width;
                double var = 0;
                for (int i = 0; i < width; i++) {
                    var += Math.pow(x[r * width + i] - mean, 2);
                }
                var /= width;
                for (int i = 0; i < width; i++) {
                    double xi = x[r * width + i];
                    assertEquals(xi / Math.sqrt(sq / width + 1e-6) * w[i], y[r * width + i], 1e-5);
                    assertEquals((xi - mean) / Math.sqrt(var + 1e-5) * w[i] + b[i], z[r * width + i], 1e-4);
                }
            }
        }
    }

    @Test
    void causalPaddingMaskAllowsExactlyThePastTokens() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray attention = m.create(new long[] {0, 1, 1, 1, 1, 1, 1, 0}, new Shape(2, 4));
            float[] mask = AttentionMasks.causal(m, attention, 2, 2, DataType.FLOAT32).toFloatArray();
            assertEquals(2 * 2 * 4, mask.length);
            for (int b = 0; b < 2; b++) {
                for (int q = 0; q < 2; q++) {
                    for (int k = 0; k < 4; k++) {
                        boolean allowed = k <= 2 + q && !(b == 0 && k == 0) && !(b == 1 && k == 3);
                        float value = mask[(b * 2 + q) * 4 + k];
                        assertEquals(allowed ? 0f : -Float.MAX_VALUE, value, "b" + b + " q" + q + " k" + k);
                    }
                }
            }
        }
    }

    @Test
    void causalLmLossIsTheMeanShiftedCrossEntropyOverCountedLabels() {
        int batch = 2;
        int length = 4;
        int vocab = 5;
        float[] logits = randn(batch * length * vocab, 5);
        long[] labels = {3, 1, -100, 4, -100, 0, 2, -100};
        double sum = 0;
        int count = 0;
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t + 1 < length; t++) {
                long target = labels[b * length + t + 1];
                if (target == -100) {
                    continue;
                }
                int base = (b * length + t) * vocab;
                double norm = 0;
                for (int v = 0; v < vocab; v++) {
                    norm += Math.exp(logits[base + v]);
                }
                sum += Math.log(norm) - logits[base + (int) target];
                count++;
            }
        }
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray loss = CausalLmLoss.mean(
                    m.create(logits, new Shape(batch, length, vocab)), m.create(labels, new Shape(batch, length)));
            assertEquals(sum / count, loss.getFloat(), 1e-5);
        }
    }

    /**
     * Rotary grouped-query self-attention fed one chunk at a time through the KV cache equals the
     * full causal pass, and the cache keeps exactly its keys and values while each step's arrays
     * go with the step.
     */
    @Test
    void incrementalSelfAttentionEqualsTheFullPass() {
        int hidden = 16;
        int length = 5;
        try (NDManager m = NDManager.newBaseManager()) {
            RotaryEmbedding rotary = new RotaryEmbedding(4, 10000);
            Attention attn = Attention.builder().setHiddenSize(hidden).setHeads(4, 2).setHeadDim(4)
                    .optRotary(rotary).build();
            RandomWeights.initialize(attn, m, DataType.FLOAT32, 3, 0.3f);
            ParameterStore store = new ParameterStore(m, false);
            float[] x = randn(length * hidden, 10);
            NDArray all = m.create(x, new Shape(1, length, hidden));
            NDArray positions = m.arange(0, length, 1, DataType.INT64).reshape(1, length);
            NDArray mask = AttentionMasks.causal(m, null, length, 0, DataType.FLOAT32);
            float[] full = attn.forward(store, all, null, mask, rotary.angles(positions, DataType.FLOAT32),
                    null, 0, false).toFloatArray();

            NDManager cacheParent = m.newSubManager();
            try (KvCache cache = new KvCache(cacheParent, 1)) {
                int[][] chunks = {{0, 3}, {3, 4}, {4, 5}};
                for (int[] chunk : chunks) {
                    int from = chunk[0];
                    int to = chunk[1];
                    try (NDManager step = m.newSubManager()) {
                        float[] part = java.util.Arrays.copyOfRange(x, from * hidden, to * hidden);
                        NDArray in = step.create(part, new Shape(1, to - from, hidden));
                        NDArray pos = step.arange(from, to, 1, DataType.INT64).reshape(1, to - from);
                        NDArray stepMask = AttentionMasks.causal(step, null, to - from, from, DataType.FLOAT32);
                        float[] out = attn.forward(store, in, null, stepMask,
                                rotary.angles(pos, DataType.FLOAT32), cache, 0, false).toFloatArray();
                        assertArrayEquals(java.util.Arrays.copyOfRange(full, from * hidden, to * hidden), out, 1e-5f);
                    }
                    assertEquals(2, cacheParent.getManagedArrays().size());
                }
                assertEquals(length, cache.length());
            }
        }
    }

    @Test
    void crossAttentionCachesTheEncoderKeysOnce() {
        try (NDManager m = NDManager.newBaseManager()) {
            Attention cross = Attention.builder().setHiddenSize(8).setHeads(2, 2).setHeadDim(4)
                    .optNames("q", "k", "v", "o").optScaling(1f).optKeyValueInputSize(6).build();
            RandomWeights.initialize(cross, m, DataType.FLOAT32, 9, 0.5f);
            ParameterStore store = new ParameterStore(m, false);
            NDArray encoder = m.create(randn(2 * 5 * 6, 6), new Shape(2, 5, 6));
            NDArray step1 = m.create(randn(2 * 8, 7), new Shape(2, 1, 8));
            NDArray step2 = m.create(randn(2 * 8, 8), new Shape(2, 1, 8));
            NDArray expected = cross.forward(store, step2, encoder, null, null, null, 0, false);
            try (KvCache cache = new KvCache(m, 1)) {
                cross.forward(store, step1, encoder, null, null, cache, 0, false);
                NDArray cachedKeys = cache.keys(0);
                NDArray actual = cross.forward(store, step2, encoder, null, null, cache, 0, false);
                assertEquals(cachedKeys, cache.keys(0));
                assertEquals(new Shape(2, 2, 5, 4), cachedKeys.getShape());
                assertTrue(Fixtures.relativeError(actual, expected) < 1e-6);
            }
        }
    }
}
