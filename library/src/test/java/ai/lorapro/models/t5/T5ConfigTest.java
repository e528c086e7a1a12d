package ai.lorapro.models.t5;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.Activation;
import ai.lorapro.models.common.ConfigFieldException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

class T5ConfigTest {

    @TempDir Path tmp;

    /** google-t5/t5-base's config.json (older transformers: no scale_decoder_outputs). */
    static final String T5_BASE =
            "{\"architectures\": [\"T5ForConditionalGeneration\"], \"d_ff\": 3072, \"d_kv\": 64,"
                    + " \"d_model\": 768, \"decoder_start_token_id\": 0, \"dropout_rate\": 0.1,"
                    + " \"eos_token_id\": 1, \"initializer_factor\": 1.0, \"is_encoder_decoder\": true,"
                    + " \"layer_norm_epsilon\": 1e-06, \"model_type\": \"t5\", \"n_positions\": 512,"
                    + " \"num_heads\": 12, \"num_layers\": 12, \"output_past\": true, \"pad_token_id\": 0,"
                    + " \"relative_attention_num_buckets\": 32, \"vocab_size\": 32128}";

    /** google/flan-t5-base's config.json: gated-gelu, untied head. */
    static final String FLAN_T5_BASE =
            "{\"architectures\": [\"T5ForConditionalGeneration\"], \"d_ff\": 2048, \"d_kv\": 64,"
                    + " \"d_model\": 768, \"decoder_start_token_id\": 0, \"dense_act_fn\": \"gelu_new\","
                    + " \"dropout_rate\": 0.1, \"eos_token_id\": 1, \"feed_forward_proj\": \"gated-gelu\","
                    + " \"initializer_factor\": 1.0, \"is_encoder_decoder\": true, \"is_gated_act\": true,"
                    + " \"layer_norm_epsilon\": 1e-06, \"model_type\": \"t5\", \"n_positions\": 512,"
                    + " \"num_decoder_layers\": 12, \"num_heads\": 12, \"num_layers\": 12,"
                    + " \"output_past\": true, \"pad_token_id\": 0, \"relative_attention_max_distance\": 128,"
                    + " \"relative_attention_num_buckets\": 32, \"tie_word_embeddings\": false,"
                    + " \"vocab_size\": 32128}";

    private Path write(String json) throws IOException {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, json, StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void readsTheFixtures() {
        T5Config relu = T5Config.fromJson(Fixtures.bundledHfTiny().resolve("t5-tiny/config.json"));
        assertEquals(64, relu.dModel());
        assertEquals(16, relu.dKv());
        assertEquals(128, relu.dFf());
        assertEquals(2, relu.numLayers());
        assertEquals(2, relu.numDecoderLayers());
        assertEquals(4, relu.numHeads());
        assertEquals(96, relu.vocabSize());
        assertEquals(Activation.RELU, relu.activation());
        assertFalse(relu.gatedAct());
        assertTrue(relu.scaleDecoderOutputs());
        T5Config gated = T5Config.fromJson(Fixtures.bundledHfTiny().resolve("t5-tiny-gated/config.json"));
        assertEquals(Activation.GELU_TANH, gated.activation());
        assertTrue(gated.gatedAct());
        assertTrue(gated.tieWordEmbeddings());
        assertFalse(gated.scaleDecoderOutputs());
    }

    @Test
    void readsReleasedConfigsWithDefaults() throws IOException {
        T5Config base = T5Config.fromJson(write(T5_BASE));
        assertEquals(Activation.RELU, base.activation());
        assertEquals(12, base.numDecoderLayers());
        assertEquals(128, base.relativeAttentionMaxDistance());
        assertTrue(base.tieWordEmbeddings());
        assertTrue(base.scaleDecoderOutputs(), "legacy tied configs rescale the decoder output");
        T5Config flan = T5Config.fromJson(write(FLAN_T5_BASE));
        assertEquals(Activation.GELU_TANH, flan.activation());
        assertFalse(flan.tieWordEmbeddings());
        assertFalse(flan.scaleDecoderOutputs());
        assertEquals(0, flan.decoderStartTokenId());
    }

    @Test
    void errorsNameTheFileAndField() throws IOException {
        Path missing = write(T5_BASE.replace("\"d_kv\": 64,", ""));
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("'d_kv'"), e.getMessage());

        Path wrongType = write(T5_BASE.replace("\"model_type\": \"t5\"", "\"model_type\": \"bart\""));
        e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(wrongType));
        assertTrue(e.getMessage().contains("'model_type'") && e.getMessage().contains("bart"), e.getMessage());

        Path badProj = write(FLAN_T5_BASE.replace("gated-gelu", "gated-swiglu"));
        e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(badProj));
        assertTrue(e.getMessage().contains("'feed_forward_proj'") && e.getMessage().contains("gated-swiglu"), e.getMessage());

        Path malformedProj = write(FLAN_T5_BASE.replace("gated-gelu", "fancy-gelu"));
        e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(malformedProj));
        assertTrue(e.getMessage().contains("'feed_forward_proj'"), e.getMessage());

        Path notInt = write(T5_BASE.replace("\"num_heads\": 12", "\"num_heads\": 12.5"));
        e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(notInt));
        assertTrue(e.getMessage().contains("'num_heads'"), e.getMessage());

        e = assertThrows(InvalidInputException.class, () -> T5Config.fromJson(tmp.resolve("absent.json")));
        assertTrue(e.getMessage().contains("absent.json"), e.getMessage());
    }

    @Test
    void configsWrittenInCodeTakeTheSameDefaultsAndChecks() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> T5Config.of(Map.of("vocab_size", 10, "d_model", 8, "d_kv", 2, "d_ff", 16, "num_layers", 1)));
        assertTrue(e.getMessage().contains("'num_heads'"), e.getMessage());
        T5Config c = T5Config.of(Map.of("vocab_size", 10, "d_model", 8, "d_kv", 2, "d_ff", 16, "num_layers", 1,
                "num_heads", 4, "feed_forward_proj", "gated-silu"));
        assertEquals(Activation.SILU, c.activation());
        assertTrue(c.gatedAct());
        assertEquals(1, c.numDecoderLayers());
        assertTrue(c.tieWordEmbeddings() && c.scaleDecoderOutputs());
        assertEquals(0.1f, c.dropoutRate(), "transformers' default dropout_rate");
        InvalidInputException dropout = assertThrows(InvalidInputException.class,
                () -> T5Config.of(Map.of("vocab_size", 10, "d_model", 8, "d_kv", 2, "d_ff", 16, "num_layers", 1,
                        "num_heads", 4, "dropout_rate", 1.0)));
        assertTrue(dropout.getMessage().contains("'dropout_rate'"), dropout.getMessage());
        for (String layers : new String[] {"num_layers", "num_decoder_layers"}) {
            Map<String, Object> deep = new java.util.HashMap<>(Map.of("vocab_size", 10, "d_model", 8, "d_kv", 2,
                    "d_ff", 16, "num_layers", 1, "num_heads", 4));
            deep.put(layers, 2_000_000);
            InvalidInputException tooDeep = assertThrows(InvalidInputException.class, () -> T5Config.of(deep));
            assertTrue(tooDeep.getMessage().contains("'" + layers + "'"), tooDeep.getMessage());
        }
        assertEquals(c.padTokenId(), c.decoderStartTokenId());
        T5Config untied = c.withUntiedHead();
        assertFalse(untied.tieWordEmbeddings());
        assertTrue(untied.scaleDecoderOutputs(), "untying keeps the decoder output's scaling");
        assertEquals(c.feedForwardProj(), untied.feedForwardProj());
        ConfigFieldException bad = assertThrows(ConfigFieldException.class, () -> new T5Config(10, 8, 2, 16, 1, 1, 4,
                32, 128, "relu", 1e-6f, true, true, 0, 0, 10, 1f, 0.1f));
        assertEquals("eos_token_id", bad.field());
        // a decoder's max distance below half its buckets gives negative bucket indices for long distances
        for (int maxDistance : new int[] {8, 16}) {
            ConfigFieldException near = assertThrows(ConfigFieldException.class, () -> new T5Config(10, 8, 2, 16, 1,
                    1, 4, 32, maxDistance, "relu", 1e-6f, true, true, 0, 0, 1, 1f, 0.1f));
            assertEquals("relative_attention_max_distance", near.field());
        }
        assertEquals(17, new T5Config(10, 8, 2, 16, 1, 1, 4, 32, 17, "relu", 1e-6f, true, true, 0, 0, 1, 1f, 0.1f)
                .relativeAttentionMaxDistance());
        ConfigFieldException scale = assertThrows(ConfigFieldException.class, () -> new T5Config(10, 8, 2, 16, 1, 1, 4,
                32, 128, "relu", 1e-6f, true, true, 0, 0, 1, 0f, 0.1f));
        assertEquals("initializer_factor", scale.field());
    }

    @Test
    void bucketsFollowTransformers() {
        // exact buckets for small offsets; bidirectional keys after the query use the upper half
        assertEquals(0, T5RelativePositionBias.bucket(0, true, 32, 128));
        assertEquals(3, T5RelativePositionBias.bucket(-3, true, 32, 128));
        assertEquals(16 + 3, T5RelativePositionBias.bucket(3, true, 32, 128));
        // causal: keys after the query all share bucket 0
        assertEquals(0, T5RelativePositionBias.bucket(5, false, 32, 128));
        assertEquals(5, T5RelativePositionBias.bucket(-5, false, 32, 128));
        // logarithmic range: 8 + floor(log(d / 8) / log(16) * 8) for bidirectional d >= 8
        assertEquals(8, T5RelativePositionBias.bucket(-8, true, 32, 128));
        assertEquals(10, T5RelativePositionBias.bucket(-16, true, 32, 128));
        assertEquals(12, T5RelativePositionBias.bucket(-32, true, 32, 128));
        assertEquals(15, T5RelativePositionBias.bucket(-1000, true, 32, 128));
        assertEquals(31, T5RelativePositionBias.bucket(-1000, false, 32, 128));
    }
}
