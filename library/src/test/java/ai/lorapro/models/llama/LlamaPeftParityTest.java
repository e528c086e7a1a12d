package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.AdapterMerge;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.common.CausalLmLoss;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** llama-tiny with the PEFT 0.21 adapter fixture: logits, loss, adapter gradients and merge. */
class LlamaPeftParityTest {

    private static final double TOLERANCE = 1e-4;
    private static final String PEFT_PREFIX = "base_model.model.";
    private static final Set<String> LAYER_PROJECTIONS =
            Set.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");

    private final Path base = Fixtures.hfTiny().resolve("llama-tiny");
    private final Path adapterDir = Fixtures.hfTiny().resolve("llama-tiny-lora-adapter");

    /**
     * llama-tiny with the adapters that the fixture's adapter_config.json describes (r, alpha,
     * target modules), factors from the fixture.
     */
    private LlamaForCausalLM adapted(NDManager manager) {
        LlamaForCausalLM model = LlamaForCausalLM.fromPretrained(base, manager, DataType.FLOAT32);
        LoraConfig lora = PeftAdapter.readConfig(adapterDir);
        List<String> injected = LoraInjector.inject(model, lora);
        // every target that names a projection of a decoder layer is adapted once per layer
        long targetsPerLayer = lora.getTargetModules().stream().filter(LAYER_PROJECTIONS::contains).count();
        int layers = LlamaConfig.fromJson(base.resolve("config.json")).numHiddenLayers();
        assertEquals(layers * targetsPerLayer, injected.size(), "adapted layers for targets " + lora.getTargetModules());
        Map<String, Parameter> params = ModuleTree.namedParameters(model);
        try (SafetensorsFile adapter = SafetensorsFile.open(adapterDir.resolve("adapter_model.safetensors"))) {
            int assigned = 0;
            for (String key : adapter.names()) {
                Parameter p = params.get(key.substring(PEFT_PREFIX.length()));
                assertNotNull(p, "no parameter for " + key);
                try (NDArray value = adapter.load(manager, key)) {
                    Weights.assign(p, value);
                }
                assigned++;
            }
            // A and B of every adapted layer, nothing else
            assertEquals(2 * injected.size(), assigned);
        }
        return model;
    }

    @Test
    void logitsLossAndAdapterGradientsMatchPeft() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile ref = SafetensorsFile.open(adapterDir.resolve("reference.safetensors"))) {
            LlamaForCausalLM model = adapted(manager);
            Map<String, Parameter> params = ModuleTree.namedParameters(model);
            NDArray ids = ref.load(manager, "input_ids");
            ParameterStore store = new ParameterStore(manager, false);
            NDArray logits;
            NDArray loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                logits = model.logits(store, ids, null, null, null, true);
                loss = CausalLmLoss.mean(logits, ref.load(manager, "labels"));
                collector.backward(loss);
            }
            assertTrue(Fixtures.relativeError(logits, ref.load(manager, "logits")) < TOLERANCE);
            assertTrue(Fixtures.relativeError(loss.reshape(1), ref.load(manager, "loss")) < TOLERANCE);
            int checked = 0;
            for (String key : ref.names()) {
                if (!key.startsWith("grad.")) {
                    continue;
                }
                String name = key.substring(("grad." + PEFT_PREFIX).length()).replace(".default.", ".");
                Parameter p = params.get(name);
                assertNotNull(p, "no parameter " + name);
                double error = Fixtures.relativeError(p.getArray().getGradient(), ref.load(manager, key));
                assertTrue(error < TOLERANCE, "gradient of " + name + ": relative error " + error);
                checked++;
            }
            assertTrue(checked > 0, "the reference holds no adapter gradients");
        }
    }

    @Test
    void mergedQueryWeightMatchesPeft() {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile merged = SafetensorsFile.open(adapterDir.resolve("merged_q_proj_layer0.safetensors"))) {
            LlamaForCausalLM model = adapted(manager);
            LoraInjector.mergeAll(model);
            NDArray q = ModuleTree.namedParameters(model).get("model.layers.0.self_attn.q_proj.weight").getArray();
            String key = merged.names().iterator().next();
            double error = Fixtures.relativeError(q, merged.load(manager, key));
            assertTrue(error < TOLERANCE, "merged q_proj relative error " + error);
        }
    }
    /**
     * The streaming merge (what {@code lorapro merge} runs) gives PEFT's merged q_proj and, tensor
     * for tensor, what merging the loaded model in memory gives; the base's other tensors pass
     * through unchanged.
     */
    @Test
    void streamedMergeMatchesPeftAndTheInMemoryMerge(@TempDir Path out) throws IOException {
        ModelArchitecture config = ModelFamilies.readConfig(base.resolve(ModelFamilies.CONFIG_FILE));
        try (HfCheckpoint checkpoint = HfCheckpoint.open(base)) {
            Block structure = config.newModel(checkpoint.names());
            Map<String, Shape> shapes =
                    CheckpointLoader.check(structure, checkpoint, base.toString(), config.ignorableTensors());
            PeftAdapter.Layout layout = PeftAdapter.layout(adapterDir, structure, shapes::get);
            AdapterMerge.write(checkpoint, shapes.keySet(), layout, null, out, Long.MAX_VALUE, null);
        }
        try (NDManager manager = NDManager.newBaseManager();
                HfCheckpoint streamed = HfCheckpoint.open(out);
                SafetensorsFile peft = SafetensorsFile.open(adapterDir.resolve("merged_q_proj_layer0.safetensors"))) {
            String q = "model.layers.0.self_attn.q_proj.weight";
            double peftError = Fixtures.relativeError(streamed.floats(q), peft.floats(peft.names().iterator().next()));
            assertTrue(peftError < TOLERANCE, "merged q_proj relative error " + peftError);

            LlamaForCausalLM model = adapted(manager);
            LoraInjector.mergeAll(model);
            int compared = 0;
            for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(model).entrySet()) {
                if (e.getKey().contains(".lora_")) {
                    continue;
                }
                float[] inMemory = e.getValue().getArray().toFloatArray();
                double error = Fixtures.relativeError(streamed.floats(e.getKey()), inMemory);
                assertTrue(error < 1e-6, e.getKey() + ": relative error " + error);
                compared++;
            }
            assertEquals(streamed.names().size(), compared, "every tensor of the merged checkpoint");
        }
    }
}
