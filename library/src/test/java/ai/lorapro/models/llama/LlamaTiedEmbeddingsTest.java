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

/** tie_word_embeddings: no lm_head parameter, and the head is the embedding matrix. */
class LlamaTiedEmbeddingsTest {

    @Test
    void tiedHeadEqualsAnUntiedHeadHoldingTheEmbeddings() {
        LlamaConfig untiedConfig = LlamaConfig.builder().setVocabSize(40).setHiddenSize(16).setIntermediateSize(24)
                .setNumHiddenLayers(1).setNumAttentionHeads(2).optInitializerRange(0.3f).build();
        LlamaConfig tiedConfig = untiedConfig.toBuilder().optTieWordEmbeddings(true).build();
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
