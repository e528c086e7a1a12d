package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.io.TensorSource;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Strict loading: every parameter filled, every tensor used, shapes checked. */
class LlamaCheckpointTest {

    private final Path dir = Fixtures.hfTiny().resolve("llama-tiny");

    /** The fixture's tensors with some hidden and some extra names that alias real tensors. */
    private static class EditedSource implements TensorSource {
        private final TensorSource base;
        private final Set<String> hidden;
        private final Map<String, String> aliases;

        EditedSource(TensorSource base, Set<String> hidden, Map<String, String> aliases) {
            this.base = base;
            this.hidden = hidden;
            this.aliases = aliases;
        }

        @Override
        public Set<String> names() {
            Set<String> names = new LinkedHashSet<>(base.names());
            names.removeAll(hidden);
            names.addAll(aliases.keySet());
            return names;
        }

        @Override
        public TensorInfo info(String name) {
            return base.info(aliases.getOrDefault(name, name));
        }

        @Override
        public NDArray load(NDManager manager, String name, DataType floatType) {
            return base.load(manager, aliases.getOrDefault(name, name), floatType);
        }

        @Override
        public void close() {}
    }

    private CheckpointFormatException failure(LlamaConfig config, Set<String> hidden, Map<String, String> aliases) {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            TensorSource source = new EditedSource(file, hidden, aliases);
            return assertThrows(CheckpointFormatException.class,
                    () -> LlamaForCausalLM.fromPretrained(config, source, "edited", manager, DataType.FLOAT32));
        }
    }

    private LlamaConfig config() {
        return LlamaConfig.fromJson(dir.resolve("config.json"));
    }

    @Test
    void missingTensorIsNamed() {
        String name = "model.layers.1.post_attention_layernorm.weight";
        CheckpointFormatException e = failure(config(), Set.of(name), Map.of());
        assertTrue(e.getMessage().contains("missing") && e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void unexpectedTensorIsNamed() {
        String name = "model.layers.0.self_attn.extra.weight";
        CheckpointFormatException e =
                failure(config(), Set.of(), Map.of(name, "model.layers.0.self_attn.q_proj.weight"));
        assertTrue(e.getMessage().contains("unexpected") && e.getMessage().contains(name), e.getMessage());
    }

    @Test
    void shapeMismatchIsNamed() {
        // the fixture's sizes (llama-tiny) with a narrower MLP: 128 instead of 176
        LlamaConfig wider = LlamaConfig.of(Map.of("vocab_size", 96, "hidden_size", 64, "intermediate_size", 128,
                "num_hidden_layers", 2, "num_attention_heads", 4, "num_key_value_heads", 2));
        CheckpointFormatException e = failure(wider, Set.of(), Map.of());
        assertTrue(e.getMessage().contains("model.layers.0.mlp.") && e.getMessage().contains("shape"), e.getMessage());
    }

    @Test
    void anIntegerWeightIsRefusedByName(@TempDir Path tmp) {
        // the fixture rewritten with model.norm.weight as I32: it loaded as it was, and the model ran on 1065353216s
        Path copy = tmp.resolve("model.safetensors");
        try (SafetensorsFile file = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : file.names()) {
                long[] shape = file.info(name).shape().getShape();
                float[] values = file.floats(name);
                if (name.equals("model.norm.weight")) {
                    int[] ints = new int[values.length];
                    for (int i = 0; i < ints.length; i++) {
                        ints[i] = Float.floatToIntBits(values[i]);
                    }
                    writer.add(name, ints, shape);
                } else {
                    writer.add(name, values, shape);
                }
            }
            writer.write(copy);
        }
        try (NDManager manager = NDManager.newBaseManager(); SafetensorsFile file = SafetensorsFile.open(copy)) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> LlamaForCausalLM.fromPretrained(config(), file, copy.toString(), manager, DataType.FLOAT32));
            assertTrue(e.getMessage().contains(copy + ": tensor 'model.norm.weight' is I32"), e.getMessage());
        }
    }

    @Test
    void aTensorThatFailsToLoadLeavesNoWeightsInTheManager() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            List<String> loaded = new ArrayList<>();
            TensorSource failing = new EditedSource(file, Set.of(), Map.of()) {
                @Override
                public NDArray load(NDManager m, String name, DataType floatType) {
                    if (loaded.size() == 5) {
                        throw new InvalidInputException("tensor '" + name + "' cannot be read");
                    }
                    loaded.add(name);
                    return super.load(m, name, floatType);
                }
            };
            assertThrows(InvalidInputException.class,
                    () -> LlamaForCausalLM.fromPretrained(config(), failing, "failing", manager, DataType.FLOAT32));
            assertEquals(5, loaded.size());
            // the five weights loaded before the failure were closed, not left for the manager's owner
            assertEquals(0, ((BaseNDManager) manager).getManagedArrays().size());
        }
    }

    @Test
    void staleRotaryBuffersAreSkippedAndWeightsTakeTheRequestedType() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile file = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            TensorSource source = new EditedSource(file, Set.of(),
                    Map.of("model.layers.0.self_attn.rotary_emb.inv_freq", "model.norm.weight"));
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(config(), source, "edited", manager, DataType.FLOAT16);
            NDArray weight = model.getModel().getEmbedTokens().getWeight().getArray();
            assertEquals(DataType.FLOAT16, weight.getDataType());
        }
    }
}
