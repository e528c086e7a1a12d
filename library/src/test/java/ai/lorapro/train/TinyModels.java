package ai.lorapro.train;

import ai.djl.ndarray.NDManager;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Tiny random Llama models and a learnable synthetic task for engine tests. */
public final class TinyModels {

    private TinyModels() {}

    /**
     * Switches PyTorch to one intra-op thread and returns the previous count: these models are so
     * small that threads only add synchronisation, which on a busy machine costs 10x.
     */
    public static int singleThread() {
        ai.djl.engine.Engine.getInstance();
        int previous = ai.djl.pytorch.jni.JniUtils.getNumThreads();
        ai.djl.pytorch.jni.JniUtils.setNumThreads(1);
        return previous;
    }

    /** Restores the thread count {@link #singleThread()} returned. */
    public static void restoreThreads(int threads) {
        ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
    }

    /** A two-layer Llama with hidden size 32 and the given vocabulary. */
    public static LlamaConfig config(int vocab) {
        return config(vocab, 0);
    }

    /** {@link #config(int)} with {@code attention_dropout}. */
    public static LlamaConfig config(int vocab, double attentionDropout) {
        return LlamaConfig.of(Map.of("vocab_size", vocab, "hidden_size", 32, "intermediate_size", 64,
                "num_hidden_layers", 2, "num_attention_heads", 4, "num_key_value_heads", 2,
                "max_position_embeddings", 64, "initializer_range", 0.05, "attention_dropout", attentionDropout));
    }

    /** A random model of {@link #config}. */
    public static LlamaForCausalLM model(NDManager manager, int vocab, long seed) {
        return LlamaForCausalLM.random(config(vocab), manager, seed);
    }

    /**
     * Examples "BOS a b c SEP" -> "a+1 b+1 c+1 EOS" over ids 4..vocab-1, labels on the response
     * only (BOS = 1, EOS = 2, SEP = 3).
     */
    public static List<Example> copyPlusOne(int count, int vocab, long seed) {
        Random random = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            int k = 3 + random.nextInt(3);
            long[] ids = new long[2 * k + 3];
            long[] labels = new long[ids.length];
            ids[0] = 1;
            labels[0] = Example.IGNORE_INDEX;
            for (int i = 0; i < k; i++) {
                long token = 4 + random.nextInt(vocab - 5);
                ids[1 + i] = token;
                labels[1 + i] = Example.IGNORE_INDEX;
                ids[2 + k + i] = token + 1;
                labels[2 + k + i] = token + 1;
            }
            ids[1 + k] = 3;
            labels[1 + k] = Example.IGNORE_INDEX;
            ids[ids.length - 1] = 2;
            labels[ids.length - 1] = 2;
            out.add(new Example(ids, labels));
        }
        return out;
    }
}
