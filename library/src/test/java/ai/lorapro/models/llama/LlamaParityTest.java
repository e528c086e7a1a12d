package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.CausalLmLoss;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** llama-tiny against transformers 5.17: logits, loss and gradients. */
class LlamaParityTest {

    private static final double TOLERANCE = 1e-4;

    private final Path dir = Fixtures.hfTiny().resolve("llama-tiny");

    @Test
    void namesAreTheCheckpointKeys() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile weights = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT32);
            assertEquals(weights.names(), ModuleTree.namedParameters(model).keySet());
        }
    }

    @Test
    void logitsAndLossMatchTransformers() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT32);
            NDArray ids = ref.load(manager, "input_ids");
            NDArray mask = ref.load(manager, "attention_mask");
            assertEquals(DataType.INT64, ids.getDataType());
            ParameterStore store = new ParameterStore(manager, false);
            NDArray logits = model.logits(store, ids, mask, null, null, false);
            double logitsError = Fixtures.relativeError(logits, ref.load(manager, "logits"));
            assertTrue(logitsError < TOLERANCE, "logits relative error " + logitsError);
            NDArray loss = CausalLmLoss.mean(logits, ref.load(manager, "labels"));
            double lossError = Fixtures.relativeError(loss.reshape(1), ref.load(manager, "loss"));
            assertTrue(lossError < TOLERANCE, "loss relative error " + lossError);
        }
    }

    /**
     * FLOAT16 base weights run the whole pass in half precision (norms and softmax in float32);
     * the logits then differ from the float32 reference by about half precision's epsilon (~1e-3).
     */
    @Test
    void halfPrecisionWeightsComputeInHalfPrecision() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT16);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray logits = model.logits(
                    store, ref.load(manager, "input_ids"), ref.load(manager, "attention_mask"), null, null, false);
            assertEquals(DataType.FLOAT16, logits.getDataType());
            double error = Fixtures.relativeError(logits.toType(DataType.FLOAT32, false), ref.load(manager, "logits"));
            assertTrue(error < 1e-2, "float16 logits relative error " + error);
        }
    }

    @Test
    void gradientsMatchTransformers() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(dir, manager, DataType.FLOAT32);
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            params.values().forEach(p -> p.freeze(false));
            NDArray ids = ref.load(manager, "input_ids");
            NDArray mask = ref.load(manager, "attention_mask");
            NDArray labels = ref.load(manager, "labels");
            ParameterStore store = new ParameterStore(manager, false);
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.logits(store, ids, mask, null, null, true);
                collector.backward(CausalLmLoss.mean(logits, labels));
            }
            List<String> checked = Fixtures.assertGradientsMatch(ref, params, manager, TOLERANCE);
            assertEquals(5, checked.size(), "gradients checked: " + checked);
        }
    }
}
