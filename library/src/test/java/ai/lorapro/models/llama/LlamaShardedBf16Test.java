package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.HalfFloats;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.Fixtures;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

/** llama-tiny-bf16-sharded: 7 bf16 shards behind an index load into the same model as llama-tiny. */
class LlamaShardedBf16Test {

    private final Path sharded = Fixtures.hfTiny().resolve("llama-tiny-bf16-sharded");
    private final Path reference = Fixtures.hfTiny().resolve("llama-tiny");

    @Test
    void everyWeightIsTheFloat32WeightRoundedToBf16() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile f32 = SafetensorsFile.open(reference.resolve("model.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(sharded, manager, DataType.FLOAT32);
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            assertEquals(f32.names(), params.keySet());
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                float[] expected = f32.floats(e.getKey());
                float[] actual = e.getValue().getArray().toFloatArray();
                assertEquals(expected.length, actual.length, e.getKey());
                for (int i = 0; i < expected.length; i++) {
                    float rounded = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(expected[i]));
                    if (Float.floatToIntBits(rounded) != Float.floatToIntBits(actual[i])) {
                        throw new AssertionError(e.getKey() + "[" + i + "]: " + actual[i] + " != bf16(" + expected[i] + ")");
                    }
                }
            }
        }
    }

    @Test
    void logitsStayCloseToTheFloat32Reference() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(reference.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(sharded, manager, DataType.FLOAT32);
            NDArray logits = model.logits(
                    new ParameterStore(manager, false),
                    ref.load(manager, "input_ids"),
                    ref.load(manager, "attention_mask"),
                    null,
                    null,
                    false);
            // bf16 keeps 8 bits of mantissa: weights move by up to 2^-9 relative, logits by ~1e-2
            double error = Fixtures.relativeError(logits, ref.load(manager, "logits"));
            assertTrue(error > 0 && error < 5e-2, "bf16 logits relative error " + error);
        }
    }
}
