package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.models.common.LoraSizes;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** Sizes of a Llama from its configuration alone, through the family registry's generic count. */
class LlamaSizesTest {

    @TempDir Path tmp;

    @Test
    void llama2SevenBillionWithAllLinearRankEight() throws IOException {
        LlamaConfig config = LlamaConfig.fromJson(LlamaConfigTest.write(tmp, LlamaConfigTest.LLAMA2_7B));
        LlamaFamily.Architecture architecture = new LlamaFamily.Architecture(config);
        LoraSizes sizes = architecture.loraSizes(LoraConfig.builder().setR(8).build());
        assertEquals(7 * 32, sizes.adaptedLayers());
        assertEquals(19_988_480L, sizes.trainableParameters());
        assertEquals(6_476_005_376L, sizes.adaptedWeightValues());
        assertEquals(2 * 6_476_005_376L, sizes.loraProFullStateValues());
        assertEquals(51_808_043_008L, sizes.loraProFullStateBytesFloat32());
        assertEquals(6_738_415_616L, architecture.baseParameters());
    }

    /** The counts from the config agree with the arrays of a real (tiny) model. */
    @Test
    void agreesWithAnInstantiatedModel() {
        LlamaConfig config = LlamaConfig.of(Map.of("vocab_size", 50, "hidden_size", 24, "intermediate_size", 40,
                "num_hidden_layers", 2, "num_attention_heads", 4, "num_key_value_heads", 2, "head_dim", 8,
                "attention_bias", true));
        try (NDManager manager = NDManager.newBaseManager()) {
            LlamaForCausalLM model = LlamaForCausalLM.random(config, manager, 1);
            long base = ModuleTree.namedParameters(model).values().stream()
                    .mapToLong(p -> p.getArray().size()).sum();
            LlamaFamily.Architecture architecture = new LlamaFamily.Architecture(config);
            assertEquals(base, architecture.baseParameters());

            LoraConfig lora = LoraConfig.builder().setR(3).build();
            LoraSizes sizes = architecture.loraSizes(lora);
            LoraInjector.inject(model, lora);
            Map<String, LoraLinear> adapted = LoraInjector.adaptedLayers(model);
            assertEquals(adapted.size(), sizes.adaptedLayers());
            long trainable = adapted.values().stream()
                    .mapToLong(l -> size(l.getLoraA()) + size(l.getLoraB())).sum();
            assertEquals(trainable, sizes.trainableParameters());
            long full = adapted.values().stream().mapToLong(l -> size(l.getWeight())).sum();
            assertEquals(full, sizes.adaptedWeightValues());
        }
    }

    private static long size(Parameter p) {
        return p.getArray().size();
    }
}
