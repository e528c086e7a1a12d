package ai.lorapro.models.clip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.Activation;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

class ClipConfigTest {

    @TempDir Path tmp;

    private Path fixtureWith(String from, String to) throws IOException {
        String json = Files.readString(Fixtures.bundledHfTiny().resolve("clip-tiny/config.json"), StandardCharsets.UTF_8);
        if (!json.contains(from)) {
            throw new AssertionError("fixture has no " + from);
        }
        Path file = tmp.resolve("config.json");
        Files.writeString(file, json.replace(from, to), StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void readsTheFixture() {
        ClipConfig c = ClipConfig.fromJson(Fixtures.bundledHfTiny().resolve("clip-tiny/config.json"));
        assertEquals(32, c.projectionDim());
        assertEquals(2.6592f, c.logitScaleInitValue());
        ClipTextConfig text = c.text();
        assertEquals(96, text.vocabSize());
        assertEquals(16, text.maxPositionEmbeddings());
        assertEquals(95, text.eosTokenId());
        assertFalse(text.poolsAtLargestId());
        assertEquals(64, text.tower().hiddenSize());
        assertEquals(128, text.tower().intermediateSize());
        assertEquals(Activation.QUICK_GELU, text.tower().hiddenAct());
        assertEquals(1e-5f, text.tower().layerNormEps());
        ClipVisionConfig vision = c.vision();
        assertEquals(32, vision.imageSize());
        assertEquals(8, vision.patchSize());
        assertEquals(16, vision.numPatches());
        assertEquals(3, vision.numChannels());
        assertEquals(16, vision.tower().headDim());
    }

    @Test
    void legacyEosIdTwoPoolsAtTheLargestId() throws IOException {
        ClipConfig c = ClipConfig.fromJson(fixtureWith("\"eos_token_id\": 95", "\"eos_token_id\": 2"));
        assertTrue(c.text().poolsAtLargestId());
    }

    @Test
    void geluIsAccepted() throws IOException {
        ClipConfig c = ClipConfig.fromJson(fixtureWith(
                "\"hidden_act\": \"quick_gelu\",\n    \"hidden_size\": 64,\n    \"image_size\"",
                "\"hidden_act\": \"gelu\",\n    \"hidden_size\": 64,\n    \"image_size\""));
        assertEquals(Activation.GELU, c.vision().tower().hiddenAct());
        assertEquals(Activation.QUICK_GELU, c.text().tower().hiddenAct());
    }

    @Test
    void errorsNameTheFileAndField() throws IOException {
        Path wrongType = fixtureWith("\"model_type\": \"clip\"", "\"model_type\": \"siglip\"");
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(wrongType));
        assertTrue(e.getMessage().contains(wrongType.toString()) && e.getMessage().contains("'model_type'"), e.getMessage());

        Path act = fixtureWith("\"hidden_act\": \"quick_gelu\",\n    \"hidden_size\": 64,\n    \"initializer_factor\"",
                "\"hidden_act\": \"silu\",\n    \"hidden_size\": 64,\n    \"initializer_factor\"");
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(act));
        assertTrue(e.getMessage().contains("'text_config.hidden_act'") && e.getMessage().contains("silu"), e.getMessage());

        Path patch = fixtureWith("\"patch_size\": 8", "\"patch_size\": 7");
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(patch));
        assertTrue(e.getMessage().contains("'vision_config.patch_size'"), e.getMessage());

        Path heads = fixtureWith("\"num_attention_heads\": 4,\n    \"num_channels\"", "\"num_attention_heads\": 5,\n    \"num_channels\"");
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(heads));
        assertTrue(e.getMessage().contains("'vision_config.hidden_size'") && e.getMessage().contains(heads.toString()),
                e.getMessage());

        Path deep = fixtureWith("\"num_hidden_layers\": 2,\n    \"patch_size\": 8",
                "\"num_hidden_layers\": 2000000,\n    \"patch_size\": 8");
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(deep));
        assertTrue(e.getMessage().contains("'vision_config.num_hidden_layers'") && e.getMessage().contains("1024"),
                e.getMessage());

        Path noVision = tmp.resolve("novision.json");
        Files.writeString(noVision, "{\"model_type\": \"clip\", \"text_config\": {}}", StandardCharsets.UTF_8);
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(noVision));
        assertTrue(e.getMessage().contains("'vision_config'"), e.getMessage());

        // an eos id outside the vocabulary would pool every prompt at position 0; a missing one
        // falls back to transformers' 49407, outside this tiny vocabulary too
        for (String eos : new String[] {"\"eos_token_id\": 500", "\"eos_token_id\": -1", "\"unused_field\": 95"}) {
            Path badEos = fixtureWith("\"eos_token_id\": 95", eos);
            e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(badEos), eos);
            assertTrue(e.getMessage().contains("'text_config.eos_token_id'") && e.getMessage().contains("vocab_size 96"),
                    e.getMessage());
        }

        Path badVocab = fixtureWith("\"vocab_size\": 96", "\"vocab_size\": \"many\"");
        e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(badVocab));
        assertTrue(e.getMessage().contains("'text_config.vocab_size'"), e.getMessage());
    }

    @Test
    void missingTowerFieldsTakeTransformersDefaults() throws IOException {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, "{\"model_type\": \"clip\", \"text_config\": {}, \"vision_config\": {\"patch_size\": 16}}",
                StandardCharsets.UTF_8);
        ClipConfig c = ClipConfig.fromJson(file);
        assertEquals(512, c.text().tower().hiddenSize());
        assertEquals(77, c.text().maxPositionEmbeddings());
        assertEquals(768, c.vision().tower().hiddenSize());
        assertEquals(224, c.vision().imageSize());
        assertEquals(196, c.vision().numPatches());
        assertEquals(512, c.projectionDim());
        assertEquals(0f, c.text().tower().attentionDropout(), "transformers' default attention_dropout");
    }

    @Test
    void attentionDropoutIsReadPerTowerAndChecked() throws IOException {
        Path file = tmp.resolve("config.json");
        Files.writeString(file, "{\"model_type\": \"clip\", \"text_config\": {\"attention_dropout\": 0.2},"
                + " \"vision_config\": {}}", StandardCharsets.UTF_8);
        ClipConfig c = ClipConfig.fromJson(file);
        assertEquals(0.2f, c.text().tower().attentionDropout());
        assertEquals(0f, c.vision().tower().attentionDropout());
        Files.writeString(file, "{\"model_type\": \"clip\", \"text_config\": {},"
                + " \"vision_config\": {\"attention_dropout\": 1.5}}", StandardCharsets.UTF_8);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ClipConfig.fromJson(file));
        assertTrue(e.getMessage().contains("'vision_config.attention_dropout'") && e.getMessage().contains(file.toString()),
                e.getMessage());
    }

    @Test
    void theRecordRequiresBothTowers() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> new ClipConfig(null, null, 512, 2.6592f));
        assertTrue(e.getMessage().contains("'text_config'"), e.getMessage());
        assertThrows(InvalidInputException.class,
                () -> new ClipTowerConfig(64, 128, 2, 3, Activation.GELU, 1e-5f, 0f));
    }
}
