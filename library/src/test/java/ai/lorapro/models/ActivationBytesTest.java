package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.types.DataType;
import ai.lorapro.models.bigram.BigramFamily;
import ai.lorapro.models.clip.ClipFamily;
import ai.lorapro.models.common.ConfigJson;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaFamily;
import ai.lorapro.models.random.ModelPreset;
import ai.lorapro.models.t5.T5Config;
import ai.lorapro.models.t5.T5Family;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each family's estimate of the activations one micro-batch keeps: its documented formula, and its growth. */
class ActivationBytesTest {

    private static ModelArchitecture architecture(ModelPreset preset) {
        ConfigJson json = ConfigJson.of(preset.config(), preset.id());
        return ModelFamilies.forModelType(json.optString("model_type", null)).read(json);
    }

    @ParameterizedTest
    @EnumSource(ModelPreset.class)
    void growsWithTheBatchAndTheLength(ModelPreset preset) {
        ModelArchitecture model = architecture(preset);
        for (DataType frozen : new DataType[] {DataType.FLOAT32, DataType.FLOAT16}) {
            long base = model.activationBytes(2, 32, frozen);
            assertTrue(base > 0, preset.id());
            assertTrue(model.activationBytes(4, 32, frozen) > base, preset.id() + " batch");
            long longer = model.activationBytes(2, 64, frozen);
            if (model instanceof ClipFamily.Architecture) {
                assertEquals(base, longer, "image classification does not read the sequence length");
            } else {
                assertTrue(longer > base, preset.id() + " length");
            }
        }
    }

    @Test
    void llamaIsTheFormulaItHadInTheMemoryEstimate() {
        for (ModelPreset preset : new ModelPreset[] {ModelPreset.LLAMA_2_7B, ModelPreset.TINYLLAMA_1_1B,
            ModelPreset.LLAMA_TINY}) {
            LlamaConfig c = ((LlamaFamily.Architecture) architecture(preset)).config();
            long b = 3;
            long t = 256;
            long h = c.hiddenSize();
            long layer = 4 * b * t * (16 * h + 5L * c.intermediateSize() + 3L * c.numAttentionHeads() * t);
            long head = 4 * b * t * 3L * c.vocabSize();
            ModelArchitecture model = architecture(preset);
            assertEquals(c.numHiddenLayers() * layer + head, model.activationBytes(3, 256, DataType.FLOAT32),
                    preset.id());
            long kv = (long) c.numKeyValueHeads() * c.headDim();
            long q = (long) c.numAttentionHeads() * c.headDim();
            long layerWeights = h * q + 2 * h * kv + q * h + 3 * h * c.intermediateSize();
            long widened = Math.max(layerWeights, c.tieWordEmbeddings() ? 0 : h * c.vocabSize());
            long boundaries = 4 * b * t * h * (c.numHiddenLayers() + 1L);
            assertEquals(boundaries + layer + 4 * widened + head, model.activationBytes(3, 256, DataType.FLOAT16),
                    preset.id());
        }
    }

    @Test
    void recomputedLayersKeepLessThanAllLayersAtLlama2Size() {
        ModelArchitecture model = architecture(ModelPreset.LLAMA_2_7B);
        assertTrue(model.activationBytes(1, 512, DataType.FLOAT16) < model.activationBytes(1, 512, DataType.FLOAT32));
    }

    @Test
    void t5IsItsDocumentedFormula() {
        for (ModelPreset preset : new ModelPreset[] {ModelPreset.T5_TINY, ModelPreset.T5_BASE}) {
            ModelArchitecture model = architecture(preset);
            T5Config c = ((T5Family.Architecture) model).config();
            long b = 2;
            long s = 48;
            long h = c.dModel();
            long n = c.numHeads();
            long a = n * c.dKv();
            long g = c.gatedAct() ? 2 : 1;
            long f = 2L * g * c.dFf();
            long encoderLayer = 4 * b * s * (7 * h + 4 * a + f + 3 * n * s);
            long decoderLayer = 4 * b * (s * (12 * h + 6 * a + f + 3 * n * (s + s)) + 2 * a * s);
            long head = 4 * b * s * (3L * c.vocabSize() + h);
            assertEquals(c.numLayers() * encoderLayer + c.numDecoderLayers() * decoderLayer + head,
                    model.activationBytes(2, 48, DataType.FLOAT32), preset.id());
            // float16 base weights: blocks recomputed, the states between them kept
            long states = 4 * b * h * (s * (c.numLayers() + 1L) + (s + s) * (c.numDecoderLayers() + 1L));
            long widened = Math.max(8 * h * a + (g + 1) * c.dFf() * h, (long) c.vocabSize() * h);
            assertEquals(states + Math.max(encoderLayer, decoderLayer) + 4 * widened + head,
                    model.activationBytes(2, 48, DataType.FLOAT16), preset.id());
        }
    }

    @Test
    void recomputedBlocksKeepLessThanAllBlocksAtT5BaseSize() {
        ModelArchitecture model = architecture(ModelPreset.T5_BASE);
        assertTrue(model.activationBytes(4, 128, DataType.FLOAT16) < model.activationBytes(4, 128, DataType.FLOAT32));
    }

    @Test
    void familiesWithoutAnEstimateCountTheirLinearLayers() {
        // the test family: mix (hidden -> hidden) and lm_head (hidden -> vocab)
        ModelArchitecture bigram = new BigramFamily.Architecture(40, 8, 2);
        assertEquals(4L * 3 * 10 * ((8 + 8) + (8 + 40)), bigram.activationBytes(3, 10, DataType.FLOAT32));
    }
}
