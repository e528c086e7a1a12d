package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.LocalParameterServer;
import ai.djl.training.tracker.Tracker;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The optimizers under DJL's multi-device training, on the CPU: driven through DJL's own {@code
 * LocalParameterServer} with several copies of every parameter, and with parameters whose manager
 * belongs to another device.
 */
class MultiDeviceTest extends ManagedTest {

    private static List<Function<PairAndHead, ResumableOptimizer>> optimizers() {
        return List.of(
                p -> LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f)).optWeightDecay(0.1f)
                        .addLoraPair("layer", p.a, p.b, 2f).nameParameter("head.weight", p.head).build(),
                p -> LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                        .optMode(LoraProAdamW.Mode.EFFICIENT).addLoraPair("layer", p.a, p.b, 2f)
                        .nameParameter("head.weight", p.head).build(),
                p -> LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                        .addLoraPair("layer", p.a, p.b, 2f).nameParameter("head.weight", p.head).build(),
                p -> PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                        .addLoraPair("layer", p.a, p.b, 2f).nameParameter("head.weight", p.head).build());
    }

    /**
     * Three copies of every parameter, stepped by DJL's parameter server (sum of the copies'
     * gradients, then one {@code update} per copy), against one copy stepped with that sum: the
     * same values, every copy equal to the first, one step counted per iteration.
     */
    @Test
    void parameterServerCopiesStepOnceAndStayEqual() {
        int copies = 3;
        for (Function<PairAndHead, ResumableOptimizer> factory : optimizers()) {
            PairAndHead single = new PairAndHead(1);
            PairAndHead multi = new PairAndHead(1);
            ResumableOptimizer reference = factory.apply(single);
            ResumableOptimizer optimizer = factory.apply(multi);
            LocalParameterServer server = new LocalParameterServer(optimizer);
            // the further copies, as DJL's ParameterStore makes them (on another device with a GPU)
            NDArray[][] weights = new NDArray[3][copies];
            for (int i = 0; i < 3; i++) {
                weights[i][0] = multi.all().get(i).getArray();
                for (int k = 1; k < copies; k++) {
                    weights[i][k] = weights[i][0].duplicate();
                    weights[i][k].setRequiresGradient(true);
                }
            }
            Random rng = new Random(2);
            for (int step = 0; step < 4; step++) {
                // DJL's parameter map has no fixed order: B before A on odd steps
                int[] order = step % 2 == 0 ? new int[] {0, 1, 2} : new int[] {2, 1, 0};
                for (int i : order) {
                    Parameter p = single.all().get(i);
                    NDArray[] grads = new NDArray[copies];
                    Shape shape = p.getArray().getShape();
                    NDArray sum = manager.zeros(shape);
                    for (int k = 0; k < copies; k++) {
                        grads[k] = random(rng, (int) shape.get(0), (int) shape.get(1));
                        sum.addi(grads[k]);
                    }
                    reference.update(p.getId(), p.getArray(), sum);
                    server.update(multi.all().get(i).getId(), grads, weights[i]);
                }
                for (int i = 0; i < 3; i++) {
                    float[] expected = single.all().get(i).getArray().toFloatArray();
                    String what = optimizer.getClass().getSimpleName() + " step " + (step + 1) + " parameter " + i;
                    assertArrayEquals(expected, weights[i][0].toFloatArray(), 1e-6f, what);
                    for (int k = 1; k < copies; k++) {
                        assertArrayEquals(weights[i][0].toFloatArray(), weights[i][k].toFloatArray(), 0f, what + " copy " + k);
                    }
                }
            }
            OptimizerState state = optimizer.exportState(manager);
            // one step per iteration for the pair and the plain parameter, and one DJL update each
            assertEquals(4, state.getSteps().get("layer"));
            assertEquals(4, state.getSteps().get("head.weight"));
            assertEquals(4, state.getSteps().get(DjlUpdateCounters.NUM_UPDATE));
            reference.close();
            optimizer.close();
        }
    }

    /**
     * A pair that starts training at step 3 (an adapter unfrozen mid-run), which DJL's order puts
     * around an older parameter (its A first, its B last): an iteration begins between its two
     * factors. The pair still steps jointly, once per iteration, as a fresh optimizer steps it from
     * its first step, and its device copies still follow it. It threw "lora_A got a gradient but
     * lora_B did not in the same step" at every later step.
     */
    @Test
    void aPairThatJoinsMidRunStepsJointlyOncePerIteration() {
        for (int copies : new int[] {1, 2}) {
            PairAndHead early = new PairAndHead(5);
            PairAndHead late = new PairAndHead(6);
            PairAndHead lateAlone = new PairAndHead(6);
            try (LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                            .addLoraPair("early", early.a, early.b, 2f).addLoraPair("late", late.a, late.b, 2f)
                            .nameParameter("head.weight", early.head).build();
                    LoraProAdamW reference = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                            .addLoraPair("late", lateAlone.a, lateAlone.b, 2f).build()) {
                LocalParameterServer server = new LocalParameterServer(optimizer);
                Map<Parameter, NDArray[]> weights = new HashMap<>();
                for (Parameter p : List.of(early.a, early.b, early.head, late.a, late.b)) {
                    NDArray[] all = new NDArray[copies];
                    all[0] = p.getArray();
                    for (int k = 1; k < copies; k++) {
                        all[k] = all[0].duplicate();
                        all[k].setRequiresGradient(true);
                    }
                    weights.put(p, all);
                }
                Random rng = new Random(7);
                for (int step = 1; step <= 4; step++) {
                    List<Parameter> order = step < 3 ? List.of(early.a, early.b, early.head)
                            : List.of(late.a, early.a, early.b, early.head, late.b);
                    for (Parameter p : order) {
                        Shape shape = p.getArray().getShape();
                        NDArray grad = random(rng, (int) shape.get(0), (int) shape.get(1));
                        NDArray[] grads = new NDArray[copies];
                        for (int k = 0; k < copies; k++) {
                            grads[k] = grad.div(copies);
                        }
                        server.update(p.getId(), grads, weights.get(p));
                        if (p == late.a || p == late.b) {
                            Parameter alone = p == late.a ? lateAlone.a : lateAlone.b;
                            reference.update(alone.getId(), alone.getArray(), grad);
                        }
                    }
                    for (NDArray[] all : weights.values()) {
                        for (int k = 1; k < copies; k++) {
                            assertArrayEquals(all[0].toFloatArray(), all[k].toFloatArray(), 0f, "copy " + k);
                        }
                    }
                }
                assertArrayEquals(lateAlone.a.getArray().toFloatArray(), late.a.getArray().toFloatArray(), 1e-6f);
                assertArrayEquals(lateAlone.b.getArray().toFloatArray(), late.b.getArray().toFloatArray(), 1e-6f);
                Map<String, Integer> steps = optimizer.exportState(manager).getSteps();
                assertEquals(4, steps.get("early"));
                assertEquals(2, steps.get("late"));
            }
        }
    }

    /**
     * DJL attaches each device copy of a parameter to the ParameterStore's manager, whose device
     * may be another one. Here the factors live on the CPU but belong to a manager of GPU 1 (no
     * GPU needed: nothing may be created there): every array of a step must follow the factors.
     */
    @Test
    void everyArrayOfAStepIsCreatedOnTheParametersDevice() {
        for (Function<PairAndHead, ResumableOptimizer> factory : optimizers()) {
            PairAndHead plain = new PairAndHead(3);
            PairAndHead foreign = new PairAndHead(3);
            try (NDManager gpuManager = NDManager.newBaseManager(Device.gpu(1))) {
                for (Parameter p : foreign.all()) {
                    p.getArray().attach(gpuManager);
                }
                ResumableOptimizer reference = factory.apply(plain);
                ResumableOptimizer optimizer = factory.apply(foreign);
                Random rng = new Random(4);
                for (int step = 0; step < 2; step++) {
                    for (int i = 0; i < 3; i++) {
                        Shape shape = plain.all().get(i).getArray().getShape();
                        NDArray g = random(rng, (int) shape.get(0), (int) shape.get(1));
                        reference.update(plain.all().get(i).getId(), plain.all().get(i).getArray(), g);
                        optimizer.update(foreign.all().get(i).getId(), foreign.all().get(i).getArray(), g);
                    }
                }
                for (int i = 0; i < 3; i++) {
                    NDArray w = foreign.all().get(i).getArray();
                    assertEquals(Device.cpu(), w.getDevice());
                    assertArrayEquals(plain.all().get(i).getArray().toFloatArray(), w.toFloatArray(), 0f);
                }
                reference.close();
                optimizer.close();
            }
        }
    }
}
