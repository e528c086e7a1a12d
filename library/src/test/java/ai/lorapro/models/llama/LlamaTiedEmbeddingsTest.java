package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

/** tie_word_embeddings: no lm_head parameter, and the head is the embedding matrix. */
class LlamaTiedEmbeddingsTest {

    @Test
    void tiedHeadEqualsAnUntiedHeadHoldingTheEmbeddings() {
        Map<String, Object> untiedValues = Map.of("vocab_size", 40, "hidden_size", 16, "intermediate_size", 24,
                "num_hidden_layers", 1, "num_attention_heads", 2, "initializer_range", 0.3);
        LlamaConfig untiedConfig = LlamaConfig.of(untiedValues);
        Map<String, Object> tiedValues = new HashMap<>(untiedValues);
        tiedValues.put("tie_word_embeddings", true);
        LlamaConfig tiedConfig = LlamaConfig.of(tiedValues);
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM tied = LlamaForCausalLM.random(tiedConfig, manager, 5);
            LlamaForCausalLM untied = LlamaForCausalLM.random(untiedConfig, manager, 5);
            assertFalse(ModuleTree.namedParameters(tied).containsKey("lm_head.weight"));
            assertTrue(ModuleTree.namedParameters(untied).containsKey("lm_head.weight"));
            Weights.assign(untied.getLmHead().getWeight(), tied.getModel().getEmbedTokens().getWeight().getArray());

            NDArray ids = manager.create(new long[] {3, 17, 39, 0, 8, 8}, new Shape(2, 3));
            ParameterStore store = new ParameterStore(manager, false);
            float[] a = tied.logits(store, ids, null, null, null, false).toFloatArray();
            float[] b = untied.logits(store, ids, null, null, null, false).toFloatArray();
            assertArrayEquals(b, a, 1e-6f);
        }
    }
}
