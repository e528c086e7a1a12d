package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.ConfigFieldException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

class LlamaConfigTest {

    @TempDir Path tmp;

    /** Llama-2-7b-hf's config.json as shipped, with rope_theta at the top level. */
    static final String LLAMA2_7B =
            "{\"architectures\": [\"LlamaForCausalLM\"], \"bos_token_id\": 1, \"eos_token_id\": 2,"
                    + " \"hidden_act\": \"silu\", \"hidden_size\": 4096, \"initializer_range\": 0.02,"
                    + " \"intermediate_size\": 11008, \"max_position_embeddings\": 4096,"
                    + " \"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_hidden_layers\": 32,"
                    + " \"num_key_value_heads\": 32, \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-05,"
                    + " \"rope_scaling\": null, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false,"
                    + " \"torch_dtype\": \"float16\", \"transformers_version\": \"4.31.0.dev0\","
                    + " \"use_cache\": true, \"vocab_size\": 32000}";

    static Path write(Path dir, String json) throws IOException {
        Path file = dir.resolve("config.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void readsTheFixtureWithRopeParameters() {
        LlamaConfig c = LlamaConfig.fromJson(Fixtures.bundledHfTiny().resolve("llama-tiny/config.json"));
        assertEquals(64, c.hiddenSize());
        assertEquals(176, c.intermediateSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(4, c.numAttentionHeads());
        assertEquals(2, c.numKeyValueHeads());
        assertEquals(16, c.headDim());
        assertEquals(96, c.vocabSize());
        assertEquals(1e-6f, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertEquals(List.of(2), c.eosTokenIds());
        assertEquals(0, c.padTokenId());
        assertFalse(c.tieWordEmbeddings());
    }

    @Test
    void readsLlama2WithTopLevelRopeThetaAndDefaults() throws IOException {
        LlamaConfig c = LlamaConfig.fromJson(write(tmp, LLAMA2_7B.replace("10000.0", "500000.0")));
        assertEquals(500000.0, c.ropeTheta());
        assertEquals(128, c.headDim());
        assertEquals(32, c.numKeyValueHeads());
        assertEquals(1e-5f, c.rmsNormEps());
        assertEquals(null, c.padTokenId());
        assertEquals(0f, c.attentionDropout(), "transformers' default attention_dropout");
        LlamaConfig noKv = LlamaConfig.fromJson(write(tmp, LLAMA2_7B.replace("\"num_key_value_heads\": 32,", "")));
        assertEquals(32, noKv.numKeyValueHeads());
    }

    private void assertRejected(String json, String field) throws IOException {
        Path file = write(tmp, json);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> LlamaConfig.fromJson(file));
        assertTrue(e.getMessage().contains("'" + field + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void unsupportedSettingsFailNamingTheField() throws IOException {
        assertRejected(LLAMA2_7B.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}"),
                "rope_scaling");
        assertRejected(LLAMA2_7B.replace("\"rope_scaling\": null",
                "\"rope_parameters\": {\"rope_type\": \"llama3\", \"rope_theta\": 500000.0}"), "rope_parameters");
        assertRejected(LLAMA2_7B.replace("\"silu\"", "\"gelu\""), "hidden_act");
        assertRejected(LLAMA2_7B.replace("\"pretraining_tp\": 1", "\"pretraining_tp\": 2"), "pretraining_tp");
    }

    @Test
    void attentionDropoutIsReadAndChecked() throws IOException {
        LlamaConfig c = LlamaConfig.fromJson(write(tmp, LLAMA2_7B.replace("\"use_cache\"", "\"attention_dropout\": 0.1, \"use_cache\"")));
        assertEquals(0.1f, c.attentionDropout());
        assertRejected(LLAMA2_7B.replace("\"use_cache\"", "\"attention_dropout\": 1.0, \"use_cache\""), "attention_dropout");
        assertRejected(LLAMA2_7B.replace("\"use_cache\"", "\"attention_dropout\": -0.1, \"use_cache\""), "attention_dropout");
    }

    @Test
    void inconsistentOrMissingFieldsFailNamingTheField() throws IOException {
        assertRejected(LLAMA2_7B.replace("\"hidden_size\": 4096,", ""), "hidden_size");
        assertRejected(LLAMA2_7B.replace("\"vocab_size\": 32000", "\"vocab_size\": \"many\""), "vocab_size");
        assertRejected(LLAMA2_7B.replace("\"model_type\": \"llama\"", "\"model_type\": \"t5\""), "model_type");
        assertRejected(LLAMA2_7B.replace("\"model_type\": \"llama\",", ""), "model_type");
        assertRejected(LLAMA2_7B.replace("\"hidden_size\": 4096", "\"hidden_size\": 4100"), "hidden_size");
        assertRejected(LLAMA2_7B.replace("\"num_key_value_heads\": 32", "\"num_key_value_heads\": 5"),
                "num_key_value_heads");
        assertRejected(LLAMA2_7B.replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 0"), "num_hidden_layers");
        // millions of layers would be built as blocks before any tensor is read: refused from the config
        assertRejected(LLAMA2_7B.replace("\"num_hidden_layers\": 32", "\"num_hidden_layers\": 2000000"),
                "num_hidden_layers");
    }

    @Test
    void configsWrittenInCodeTakeTheSameDefaultsAndChecks() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> LlamaConfig.of(Map.of("vocab_size", 10, "hidden_size", 16, "intermediate_size", 8,
                        "num_hidden_layers", 1, "num_attention_heads", 4, "num_key_value_heads", 3)));
        assertTrue(e.getMessage().contains("'num_key_value_heads'") && e.getMessage().contains("LlamaConfig"),
                e.getMessage());
        LlamaConfig ok = LlamaConfig.of(Map.of("vocab_size", 10, "hidden_size", 12, "intermediate_size", 8,
                "num_hidden_layers", 1, "num_attention_heads", 2));
        assertEquals(6, ok.headDim());
        assertEquals(2, ok.numKeyValueHeads());
        assertEquals(1e-6f, ok.rmsNormEps());
        assertEquals(2048, ok.maxPositionEmbeddings());
        assertEquals(List.of(), ok.eosTokenIds());
        assertEquals(ok, new LlamaConfig(10, 12, 8, 1, 2, 2, 6, 1e-6f, 10000.0, 2048, false, false, false, 0.02f,
                null, List.of(), null, 0f));
    }

    @Test
    void theRecordChecksItsValuesNamingTheField() {
        ConfigFieldException e = assertThrows(ConfigFieldException.class,
                () -> new LlamaConfig(10, 12, 8, 1, 2, 2, 5, 1e-6f, 10000.0, 2048, false, false, false, 0.02f,
                        null, List.of(), null, 0f));
        assertEquals("head_dim", e.field());
        e = assertThrows(ConfigFieldException.class,
                () -> new LlamaConfig(10, 12, 8, 1, 2, 2, 6, 1e-6f, 10000.0, 2048, false, false, false, 0.02f,
                        null, List.of(10), null, 0f));
        assertEquals("eos_token_id", e.field());
    }
}
