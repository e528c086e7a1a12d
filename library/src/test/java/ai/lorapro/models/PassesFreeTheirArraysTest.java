package ai.lorapro.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.common.CausalLmLoss;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.nn.ModuleTree;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.function.BiFunction;

/**
 * A training pass of every family, run in a per-step sub-manager, leaves nothing behind on the
 * model's manager: arrays derived from a parameter (a reshaped class embedding, an exponentiated
 * logit scale) would otherwise join the parameter's manager and drag the whole pass's
 * activations with them, growing the memory by a pass's worth at every step.
 */
class PassesFreeTheirArraysTest {

    @Test
    void llama() {
        Path dir = Fixtures.hfTiny().resolve("llama-tiny");
        assertPassesFree(dir, m -> LlamaForCausalLM.fromPretrained(dir, m, DataType.FLOAT32),
                (model, in) -> CausalLmLoss.mean(((LlamaForCausalLM) model).logits(in.store, in.load("input_ids"),
                        in.load("attention_mask"), null, null, true), in.load("labels")));
    }

    @Test
    void t5() {
        Path dir = Fixtures.hfTiny().resolve("t5-tiny");
        assertPassesFree(dir, m -> T5ForConditionalGeneration.fromPretrained(dir, m),
                (model, in) -> ((T5ForConditionalGeneration) model).forward(in.store, in.load("input_ids"),
                        in.load("attention_mask"), in.load("labels"), true).loss());
    }

    @Test
    void clip() {
        Path dir = Fixtures.hfTiny().resolve("clip-tiny");
        assertPassesFree(dir, m -> ClipModel.fromPretrained(dir, m),
                (model, in) -> CrossEntropy.mean(((ClipModel) model).forward(in.store, in.load("pixel_values"),
                        in.load("input_ids"), null, true).logitsPerImage(), in.load("ce_labels")));
    }

    /** The inputs of one pass: reference tensors loaded into the pass's own manager. */
    private static final class Inputs {
        final ParameterStore store;
        final NDManager manager;
        final SafetensorsFile reference;

        Inputs(ParameterStore store, NDManager manager, SafetensorsFile reference) {
            this.store = store;
            this.manager = manager;
            this.reference = reference;
        }

        NDArray load(String name) {
            return reference.load(manager, name);
        }
    }

    private static void assertPassesFree(Path dir, java.util.function.Function<NDManager, Block> load,
            BiFunction<Block, Inputs, NDArray> loss) {
        try (NDManager manager = NDManager.newBaseManager();
                SafetensorsFile reference = SafetensorsFile.open(dir.resolve("reference.safetensors"))) {
            Block model = load.apply(manager);
            ModuleTree.namedParameters(model).values().forEach(p -> p.freeze(false));
            ParameterStore store = new ParameterStore(manager, false);
            // the first pass creates the gradient arrays, which live as long as their parameters
            pass(model, store, manager, reference, loss);
            int before = manager.getManagedArrays().size();
            pass(model, store, manager, reference, loss);
            pass(model, store, manager, reference, loss);
            assertEquals(before, manager.getManagedArrays().size(),
                    dir.getFileName() + ": arrays left on the model's manager by two training passes");
        }
    }

    private static void pass(Block model, ParameterStore store, NDManager manager, SafetensorsFile reference,
            BiFunction<Block, Inputs, NDArray> loss) {
        try (NDManager step = manager.newSubManager();
                GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            collector.backward(loss.apply(model, new Inputs(store, step, reference)));
        }
    }
}
