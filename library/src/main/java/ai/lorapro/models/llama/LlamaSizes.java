package ai.lorapro.models.llama;

import ai.lorapro.lora.LoraConfig;
import ai.lorapro.models.common.LoraSizes;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Parameter counts of a Llama model from its configuration alone, without creating weights. */
public final class LlamaSizes {

    private LlamaSizes() {}

    /**
     * The {out, in} shape of every linear layer, keyed by module path in model order (the same
     * paths as {@link LlamaForCausalLM}'s modules), {@code lm_head} last unless tied.
     */
    public static Map<String, long[]> linearShapes(LlamaConfig c) {
        long hidden = c.getHiddenSize();
        long q = (long) c.getNumAttentionHeads() * c.getHeadDim();
        long kv = (long) c.getNumKeyValueHeads() * c.getHeadDim();
        long inter = c.getIntermediateSize();
        Map<String, long[]> out = new LinkedHashMap<>();
        for (int i = 0; i < c.getNumHiddenLayers(); i++) {
            String layer = "model.layers." + i + ".";
            out.put(layer + "self_attn.q_proj", new long[] {q, hidden});
            out.put(layer + "self_attn.k_proj", new long[] {kv, hidden});
            out.put(layer + "self_attn.v_proj", new long[] {kv, hidden});
            out.put(layer + "self_attn.o_proj", new long[] {hidden, q});
            out.put(layer + "mlp.gate_proj", new long[] {inter, hidden});
            out.put(layer + "mlp.up_proj", new long[] {inter, hidden});
            out.put(layer + "mlp.down_proj", new long[] {hidden, inter});
        }
        if (!c.isTieWordEmbeddings()) {
            out.put("lm_head", new long[] {c.getVocabSize(), hidden});
        }
        return out;
    }

    /** The number of base-model parameters (embeddings, norms, linear weights and biases). */
    public static long baseParameters(LlamaConfig c) {
        long hidden = c.getHiddenSize();
        long total = c.getVocabSize() * hidden + hidden; // embed_tokens, final norm
        total += 2 * hidden * c.getNumHiddenLayers(); // the two norms of each layer
        for (Map.Entry<String, long[]> e : linearShapes(c).entrySet()) {
            long[] s = e.getValue();
            boolean attention = e.getKey().contains("self_attn");
            boolean bias = attention ? c.isAttentionBias() : e.getKey().contains("mlp") && c.isMlpBias();
            total += s[0] * s[1] + (bias ? s[0] : 0);
        }
        return total;
    }

    /** What {@code lora} costs on a model of {@code config}. */
    public static LoraSizes lora(LlamaConfig config, LoraConfig lora) {
        return LoraSizes.of(linearShapes(config), Set.of("lm_head"), lora);
    }
}
