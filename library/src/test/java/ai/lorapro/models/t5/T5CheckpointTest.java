package ai.lorapro.models.t5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.io.TensorSource;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** How T5 checkpoints name their embeddings and heads: aliases of shared, stored heads. */
class T5CheckpointTest {

    private final Path dir = Fixtures.hfTiny().resolve("t5-tiny");

    /** The fixture's tensors plus extra names that read other tensors of it. */
    private static final class Aliased implements TensorSource {
        private final SafetensorsFile file;
        private final Map<String, String> aliases;

        Aliased(SafetensorsFile file, Map<String, String> aliases) {
            this.file = file;
            this.aliases = aliases;
        }

        @Override
        public Set<String> names() {
            Set<String> names = new TreeSet<>(file.names());
            names.addAll(aliases.keySet());
            return names;
        }

        @Override
        public TensorInfo info(String name) {
            return file.info(aliases.getOrDefault(name, name));
        }

        @Override
        public NDArray load(NDManager manager, String name, DataType floatType) {
            return file.load(manager, aliases.getOrDefault(name, name), floatType);
        }

        @Override
        public void close() {
            file.close();
        }
    }

    private float[] logits(T5ForConditionalGeneration model, NDManager manager, SafetensorsFile ref) {
        return model.forward(
                        new ParameterStore(manager, false),
                        ref.load(manager, "input_ids"),
                        ref.load(manager, "attention_mask"),
                        ref.load(manager, "labels"),
                        false)
                .logits()
                .toFloatArray();
    }

    @Test
    void embedTokensAliasesOfSharedAreAccepted() {
        T5Config config = T5Config.fromJson(dir.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                Aliased source = new Aliased(SafetensorsFile.open(dir.resolve("model.safetensors")), Map.of(
                        "encoder.embed_tokens.weight", "shared.weight",
                        "decoder.embed_tokens.weight", "shared.weight"))) {
            T5ForConditionalGeneration model =
                    T5ForConditionalGeneration.fromPretrained(config, source, "aliased", manager, DataType.FLOAT32);
            assertNull(model.getLmHead());
            T5ForConditionalGeneration plain = T5ForConditionalGeneration.fromPretrained(dir, manager);
            assertArrayEquals(logits(plain, manager, ref), logits(model, manager, ref));
        }
    }

    @Test
    void aStoredLmHeadIsUsedAndKeepsTheConfiguredScaling() {
        T5Config config = T5Config.fromJson(dir.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"));
                Aliased source = new Aliased(SafetensorsFile.open(dir.resolve("model.safetensors")),
                        Map.of("lm_head.weight", "shared.weight"))) {
            T5ForConditionalGeneration model =
                    T5ForConditionalGeneration.fromPretrained(config, source, "with-head", manager, DataType.FLOAT32);
            assertNotNull(model.getLmHead());
            assertFalse(model.getConfig().tieWordEmbeddings());
            assertTrue(model.getConfig().scaleDecoderOutputs());
            // the stored head equals shared here, so the logits are those of the tied model
            T5ForConditionalGeneration tied = T5ForConditionalGeneration.fromPretrained(dir, manager);
            float[] tiedLogits = logits(tied, manager, ref);
            assertArrayEquals(tiedLogits, logits(model, manager, ref), 1e-6f);
            // and they come from the head: doubled, it doubles them (shared, which the encoder and
            // decoder embed with, stays as it was)
            model.getLmHead().getWeight().getArray().muli(2);
            float[] doubled = logits(model, manager, ref);
            for (int i = 0; i < tiedLogits.length; i++) {
                assertEquals(2 * tiedLogits[i], doubled[i], 1e-5f * Math.max(1, Math.abs(tiedLogits[i])), "logit " + i);
            }
        }
    }

    @Test
    void otherUnknownTensorsAreRejected() {
        T5Config config = T5Config.fromJson(dir.resolve("config.json"));
        try (NDManager manager = NDManager.newBaseManager();
                Aliased source = new Aliased(SafetensorsFile.open(dir.resolve("model.safetensors")),
                        Map.of("encoder.block.0.layer.0.SelfAttention.extra.weight", "shared.weight"))) {
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class,
                    () -> T5ForConditionalGeneration.fromPretrained(config, source, "extra", manager, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("extra.weight"), e.getMessage());
        }
    }
}
