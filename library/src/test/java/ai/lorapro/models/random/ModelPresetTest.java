package ai.lorapro.models.random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.clip.ClipConfig;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.t5.T5Config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Every preset's config reads back through the project's config classes with the sizes of the real
 * model, and its layout has the real model's parameter count (no weights are written here).
 */
class ModelPresetTest {

    @TempDir
    Path tmp;

    private Path configFile(ModelPreset preset) throws IOException {
        Path file = tmp.resolve(preset.id() + ".json");
        Files.writeString(file, preset.config().toString(), StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void llama2_7bHasItsRealSizes() throws IOException {
        Path file = configFile(ModelPreset.LLAMA_2_7B);
        LlamaConfig c = LlamaConfig.fromJson(file);
        assertEquals(4096, c.hiddenSize());
        assertEquals(11008, c.intermediateSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(32, c.numKeyValueHeads());
        assertEquals(6_738_415_616L, RandomModel.layout(file).parameterCount());
    }

    @Test
    void tinyLlamaHasItsRealSizes() throws IOException {
        Path file = configFile(ModelPreset.TINYLLAMA_1_1B);
        LlamaConfig c = LlamaConfig.fromJson(file);
        assertEquals(2048, c.hiddenSize());
        assertEquals(22, c.numHiddenLayers());
        assertEquals(4, c.numKeyValueHeads());
        assertEquals(1_100_048_384L, RandomModel.layout(file).parameterCount());
    }

    @Test
    void llama160mHasItsRealSizes() throws IOException {
        Path file = configFile(ModelPreset.LLAMA_160M);
        LlamaConfig c = LlamaConfig.fromJson(file);
        assertEquals(768, c.hiddenSize());
        assertEquals(12, c.numHiddenLayers());
        assertEquals(162_417_408L, RandomModel.layout(file).parameterCount());
    }

    @ParameterizedTest
    @CsvSource({"T5_BASE, 768, 12, 222903552", "T5_LARGE, 1024, 24, 737668096"})
    void t5HasItsRealSizes(ModelPreset preset, int dModel, int layers, long parameters) throws IOException {
        Path file = configFile(preset);
        T5Config c = T5Config.fromJson(file);
        assertEquals(dModel, c.dModel());
        assertEquals(32128, c.vocabSize());
        assertEquals(layers, c.numLayers());
        assertEquals(layers, c.numDecoderLayers());
        assertTrue(c.tieWordEmbeddings());
        assertEquals(0, c.decoderStartTokenId());
        assertEquals(parameters, RandomModel.layout(file).parameterCount());
    }

    @Test
    void clipVitB16HasItsRealSizes() throws IOException {
        Path file = configFile(ModelPreset.CLIP_VIT_BASE_PATCH16);
        ClipConfig c = ClipConfig.fromJson(file);
        assertEquals(768, c.vision().tower().hiddenSize());
        assertEquals(16, c.vision().patchSize());
        assertEquals(224, c.vision().imageSize());
        assertEquals(512, c.text().tower().hiddenSize());
        assertEquals(49408, c.text().vocabSize());
        assertEquals(149_620_737L, RandomModel.layout(file).parameterCount());
    }

    @Test
    void tokenizersCarryEachConfigsSpecialIds() throws IOException {
        for (ModelPreset preset : ModelPreset.values()) {
            RandomModelLayout layout = RandomModel.layout(configFile(preset));
            Path file = tmp.resolve(preset.id() + "-tokenizer.json");
            Files.writeString(file, layout.tokenizer().toJson(), StandardCharsets.UTF_8);
            try (HfTokenizer tok = HfTokenizer.load(file)) {
                switch (preset) {
                    case LLAMA_2_7B:
                    case TINYLLAMA_1_1B:
                        assertEquals(1, tok.bosId().getAsLong(), preset.id());
                        assertEquals(2, tok.eosId().getAsLong(), preset.id());
                        break;
                    case LLAMA_160M:
                    case LLAMA_TINY:
                        assertEquals(0, tok.bosId().getAsLong());
                        assertEquals(2, tok.eosId().getAsLong());
                        assertEquals(1, tok.padId().getAsLong());
                        break;
                    case T5_BASE:
                    case T5_LARGE:
                    case T5_TINY:
                        assertFalse(tok.bosId().isPresent());
                        assertEquals(1, tok.eosId().getAsLong());
                        assertEquals(0, tok.padId().getAsLong());
                        break;
                    case CLIP_TINY:
                        assertEquals(318, tok.bosId().getAsLong());
                        assertEquals(319, tok.eosId().getAsLong());
                        break;
                    default:
                        // OpenAI's config pools at the largest id: the end-of-text token must be it
                        assertEquals(49406, tok.bosId().getAsLong());
                        assertEquals(49407, tok.eosId().getAsLong());
                }
                long[] ids = tok.encode("Hé!", false);
                assertEquals(4, ids.length, "one id per UTF-8 byte");
                assertEquals("Hé!", tok.decode(ids));
                int vocab = (int) layout.shapes().entrySet().stream()
                        .filter(e -> e.getKey().matches(".*(embed_tokens|shared|token_embedding)\\.weight"))
                        .findFirst().orElseThrow().getValue().get(0);
                assertEquals(vocab, tok.vocabSize(), "every id of the model has a token");
                assertFalse(tok.decode(new long[] {vocab - 3, vocab - 4}).isBlank(), "high ids decode to text");
            }
        }
    }

    @Test
    void idsAreTheCommandLineNames() {
        assertEquals(List.of("llama-2-7b", "tinyllama-1.1b", "llama-160m", "t5-base", "t5-large",
                "clip-vit-base-patch16",
                "llama-tiny", "t5-tiny", "clip-tiny"),
                ModelPreset.ids());
        assertEquals(ModelPreset.T5_BASE, ModelPreset.fromId("t5-base"));
    }
}
