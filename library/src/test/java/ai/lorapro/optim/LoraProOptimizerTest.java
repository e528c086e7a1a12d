package ai.lorapro.optim;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.FixedPerVarTracker;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.Finiteness;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The DJL glue of the LoRA-Pro optimizers: pairing, skipping, plain parameters, state. */
class LoraProOptimizerTest extends ManagedTest {

    private static final float S = 2f;

    private LoraProAdamW.Builder adamw(PairAndHead f) {
        return LoraProAdamW.builder()
                .setLearningRateTracker(Tracker.fixed(1e-2f))
                .optWeightDecay(0.1f)
                .addLoraPair("layer", f.a, f.b, S)
                .nameParameter("head.weight", f.head);
    }

    @Test
    void sgdWithoutALearningRateIsRefusedWhenBuilt() {
        // SGD has no default rate: building without one used to succeed and fail at the first step
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LoraProSgd.builder().build());
        assertTrue(e.getMessage().contains("setLearningRateTracker"), e.getMessage());
    }

    @Test
    void aParameterOutsideTheRegisteredModelIsWarnedAboutOnce() {
        LoraConfig config = LoraConfig.builder().setR(2).setAlpha(4).build();
        LoraLinear registered = LoraLinear.builder().setInFeatures(8).setOutFeatures(8).optLora(config).build();
        LoraLinear other = LoraLinear.builder().setInFeatures(8).setOutFeatures(8).optLora(config).build();
        registered.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
        other.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        try (LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                .addLoraLayers(registered).build()) {
            System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            Random rng = new Random(3);
            for (int step = 0; step < 2; step++) {
                // another instance's factor: it trains, but as plain AdamW, which used to pass without a word
                Parameter a = other.getLoraA();
                optimizer.update(a.getId(), a.getArray(), random(rng, 2, 8));
            }
        } finally {
            System.setErr(err);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        String warning = "(id " + other.getLoraA().getId() + ") is not in the model given to addLoraLayers";
        assertEquals(1, log.split(java.util.regex.Pattern.quote(warning), -1).length - 1, log);

        // an optimizer given pairs one by one (no model) steps its other parameters plainly, unwarned
        PairAndHead pairOnly = new PairAndHead(5);
        java.io.ByteArrayOutputStream quiet = new java.io.ByteArrayOutputStream();
        try (LoraProAdamW optimizer = LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                .addLoraPair("layer", pairOnly.a, pairOnly.b, S).build()) {
            System.setErr(new java.io.PrintStream(quiet, true, java.nio.charset.StandardCharsets.UTF_8));
            pairOnly.update(optimizer, pairOnly.head, random(new Random(6), 3, 4));
        } finally {
            System.setErr(err);
        }
        assertFalse(quiet.toString(java.nio.charset.StandardCharsets.UTF_8).contains("addLoraLayers"), quiet.toString());
    }

    @Test
    void aClosedOptimizerRefusesToStep() {
        PairAndHead f = new PairAndHead(1);
        LoraProAdamW optimizer = adamw(f).build();
        Random rng = new Random(4);
        f.update(optimizer, f.head, random(rng, 3, 4));
        optimizer.close();
        // its moments are freed: a step would start them again from zero at the old step count
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> f.update(optimizer, f.head, random(rng, 3, 4)));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> optimizer.exportState(manager));
    }

    @Test
    void arrivalOrderDoesNotMatter() {
        for (LoraProAdamW.Mode mode : LoraProAdamW.Mode.values()) {
            PairAndHead first = new PairAndHead(1);
            PairAndHead second = new PairAndHead(1);
            LoraProAdamW aFirst = adamw(first).optMode(mode).build();
            LoraProAdamW bFirst = adamw(second).optMode(mode).build();
            Random rng = new Random(2);
            for (int step = 0; step < 3; step++) {
                NDArray gA = random(rng, R, N);
                NDArray gB = random(rng, M, R);
                first.update(aFirst, first.a, gA);
                first.update(aFirst, first.b, gB);
                second.update(bFirst, second.b, gB);
                second.update(bFirst, second.a, gA);
            }
            assertArrayEquals(first.a.getArray().toFloatArray(), second.a.getArray().toFloatArray(), 1e-6f);
            assertArrayEquals(first.b.getArray().toFloatArray(), second.b.getArray().toFloatArray(), 1e-6f);
            assertEquals(3, aFirst.exportState(manager).getSteps().get("layer"));
        }
    }

    /** The state is kept by name: two parameters under one name shared their moments and step count, silently. */
    @Test
    void twoParametersUnderOneNameAreRefusedWhenBuilt() {
        PairAndHead f = new PairAndHead(3);
        Parameter otherHead = trainable("head2.weight", random(new Random(4), 3, 4));
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class, () -> adamw(f)
                .nameParameter("dec.head.weight", f.head).nameParameter("dec.head.weight", otherHead).build());
        assertTrue(twice.getMessage().startsWith("two parameters are named 'dec.head.weight'"), twice.getMessage());
        IllegalArgumentException pairName = assertThrows(IllegalArgumentException.class,
                () -> adamw(f).nameParameter("layer", otherHead).build());
        assertTrue(pairName.getMessage().startsWith("parameter 'layer' has the name of a LoRA pair"),
                pairName.getMessage());
        // a factor's state name, which a pair gives its unnamed factors
        IllegalArgumentException factorName = assertThrows(IllegalArgumentException.class,
                () -> adamw(f).nameParameter("layer.lora_A.weight", otherHead).build());
        assertTrue(factorName.getMessage().startsWith("two parameters are named 'layer.lora_A.weight'"),
                factorName.getMessage());
        // one parameter named twice the same way (addLoraLayers, then nameParameter) is fine
        adamw(f).nameParameter("dec.head.weight", f.head).nameParameter("dec.head.weight", f.head).build().close();
    }

    @Test
    void aFactorArrivingTwiceBeforeItsPartnerIsAnError() {
        PairAndHead f = new PairAndHead(3);
        LoraProAdamW optimizer = adamw(f).build();
        f.update(optimizer, f.a, manager.ones(new Shape(R, N)));
        IllegalStateException e =
                assertThrows(IllegalStateException.class, () -> f.update(optimizer, f.a, manager.ones(new Shape(R, N))));
        assertTrue(e.getMessage().contains("layer"), e.getMessage());
    }

    /** float16 factors would overflow (B^T B)^-1 at the B = 0 start and skip every step: refused by name. */
    @Test
    void float16FactorsAreRefusedNamingThePair() {
        Parameter a = trainable("lora_A.weight", manager.ones(new Shape(R, N)).toType(DataType.FLOAT16, false));
        Parameter b = trainable("lora_B.weight", manager.zeros(new Shape(M, R)).toType(DataType.FLOAT16, false));
        try (LoraProSgd sgd = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f))
                .addLoraPair("layer", a, b, S).build()) {
            sgd.update(a.getId(), a.getArray(), manager.ones(new Shape(R, N)).toType(DataType.FLOAT16, false), 0.1f);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> sgd.update(b.getId(),
                    b.getArray(), manager.ones(new Shape(M, R)).toType(DataType.FLOAT16, false), 0.1f));
            assertTrue(e.getMessage().contains("LoRA pair layer: its factors are float16"), e.getMessage());
        }
    }

    /**
     * A and B registered the wrong way round are refused by name at the first update, before any
     * state is made: square, they even multiply (16 x 4 times 4 x 16), and the full mode used to step
     * them with 4 x 4 moments; not square, the r x r algebra failed with an untyped dimension error.
     */
    @Test
    void swappedFactorsAreRefusedNamingThePair() {
        for (int out : new int[] {16, 32}) {
            LoraLinear layer = LoraLinear.builder().setInFeatures(16).setOutFeatures(out)
                    .optLora(LoraConfig.builder().setR(4).setAlpha(8).build()).build();
            layer.initialize(manager, DataType.FLOAT32, new Shape(2, 16));
            Parameter a = layer.getLoraA();
            Parameter b = layer.getLoraB();
            for (ResumableOptimizer optimizer : List.<ResumableOptimizer>of(
                    LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-2f))
                            .addLoraPair("layer", b, a, layer.getScaling()).build(),
                    LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f))
                            .addLoraPair("layer", b, a, layer.getScaling()).build())) {
                try (optimizer) {
                    optimizer.update(b.getId(), b.getArray(), manager.ones(b.getArray().getShape()));
                    InvalidInputException e = assertThrows(InvalidInputException.class,
                            () -> optimizer.update(a.getId(), a.getArray(), manager.ones(a.getArray().getShape())));
                    assertTrue(e.getMessage().startsWith("LoRA pair layer: lora_A is (" + out + ", 4) and lora_B (4, 16)")
                            && e.getMessage().contains("swapped"), e.getMessage());
                    assertEquals(0, optimizer.stateBytes(), "no state made");
                }
            }
        }
    }

    /**
     * A schedule whose first rate is NaN or negative, and a gradient rescale that is not a positive
     * finite factor, are refused when the optimizer is built: they used to fail inside the first step
     * (the rate), or skip every step for good (rescale NaN), or climb the loss (rescale -1).
     */
    @Test
    void unusableRatesAndRescalesAreRefusedWhenBuilt() {
        LoraLinear layer = LoraLinear.builder().setInFeatures(8).setOutFeatures(8)
                .optLora(LoraConfig.builder().setR(2).setAlpha(4).build()).build();
        layer.initialize(manager, DataType.FLOAT32, new Shape(1, 8));
        List<Function<Consumer<ResumableOptimizer.Builder<?>>, ResumableOptimizer>> kinds = List.of(
                settings -> {
                    LoraProAdamW.Builder b = LoraProAdamW.builder();
                    settings.accept(b.addLoraLayers(layer));
                    return b.build();
                },
                settings -> {
                    LoraProSgd.Builder b = LoraProSgd.builder();
                    settings.accept(b.addLoraLayers(layer));
                    return b.build();
                },
                settings -> {
                    PlainAdamW.Builder b = PlainAdamW.builder();
                    settings.accept(b.addLoraLayers(layer));
                    return b.build();
                });
        for (Function<Consumer<ResumableOptimizer.Builder<?>>, ResumableOptimizer> kind : kinds) {
            for (float rate : new float[] {Float.NaN, -1f, Float.POSITIVE_INFINITY}) {
                InvalidFieldException e = assertThrows(InvalidFieldException.class,
                        () -> kind.apply(b -> b.setLearningRateTracker(Tracker.fixed(rate))));
                assertEquals("learning_rate", e.field(), e.getMessage());
                assertTrue(e.getMessage().contains("gives " + rate + " for "), e.getMessage());
            }
            for (float rescale : new float[] {Float.NaN, -1f, 0f}) {
                InvalidFieldException e = assertThrows(InvalidFieldException.class,
                        () -> kind.apply(b -> b.setLearningRateTracker(Tracker.fixed(0.1f)).setRescaleGrad(rescale)));
                assertEquals("rescale_grad", e.field(), e.getMessage());
            }
            // a plain optimizer with no parameter named yet: the rate is the same for all, checked once
            InvalidFieldException unnamed = assertThrows(InvalidFieldException.class,
                    () -> PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(Float.NaN)).build());
            assertTrue(unnamed.getMessage().endsWith("gives NaN for every parameter"), unnamed.getMessage());
            // a warm-up that starts at 0 is fine
            try (ResumableOptimizer ok = kind.apply(b -> b.setLearningRateTracker(Tracker.fixed(0f)))) {
                assertEquals(0, ok.stateBytes());
            }
        }
    }

    /** A fixed rate per factor (LoRA+ style) is refused when the optimizer is built, not inside Trainer.step. */
    @Test
    void aFixedRatePerFactorIsRefusedWhenBuilt() {
        PairAndHead f = new PairAndHead(4);
        FixedPerVarTracker perFactor = FixedPerVarTracker.builder().setDefaultValue(1e-3f)
                .put(f.b.getId(), 1.6e-2f).build();
        InvalidFieldException e = assertThrows(InvalidFieldException.class,
                () -> adamw(f).setLearningRateTracker(perFactor).build());
        assertEquals("learning_rate", e.field());
        assertTrue(e.getMessage().contains("LoRA pair layer: lora_A at 0.001 and lora_B at 0.016"), e.getMessage());
        // plain AdamW steps each factor on its own: a rate per factor is its to take
        PlainAdamW.builder().setLearningRateTracker(perFactor).addLoraPair("layer", f.a, f.b, S).build().close();
    }

    /** A rate per factor (LoRA+ style) is refused by name, not stepped at whichever factor arrived last. */
    @Test
    void factorsAtDifferentLearningRatesAreAnError() {
        PairAndHead f = new PairAndHead(4);
        LoraProAdamW optimizer = adamw(f).build();
        float[] a = f.a.getArray().toFloatArray();
        optimizer.update(f.a.getId(), f.a.getArray(), manager.ones(new Shape(R, N)), 1e-3f);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> optimizer.update(f.b.getId(), f.b.getArray(), manager.ones(new Shape(M, R)), 1.6e-2f));
        assertTrue(e.getMessage().contains("layer: LoRA-Pro steps A and B jointly at one learning rate, but lora_A got"
                + " 0.001 and lora_B 0.016"), e.getMessage());
        assertArrayEquals(a, f.a.getArray().toFloatArray(), 0f);
    }

    /**
     * Runs {@code body} in a trainer on a layer whose B is frozen and non-zero (so that A has a
     * gradient), stepped by the optimizer {@code factory} builds for the layer.
     */
    private static void withFrozenB(
            java.util.function.Function<LoraLinear, ResumableOptimizer> factory,
            java.util.function.BiConsumer<LoraLinear, Trainer> body) {
        LoraConfig config = LoraConfig.builder().setR(R).setAlpha(4).build();
        LoraLinear layer = LoraLinear.builder().setInFeatures(N).setOutFeatures(M).optLora(config).build();
        ResumableOptimizer optimizer = factory.apply(layer);
        layer.getLoraB().freeze(true);
        try (Model model = Model.newInstance("frozen")) {
            model.setBlock(layer);
            try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer))) {
                ai.djl.engine.Engine.getInstance().setRandomSeed(3); // the same random layer in every run
                trainer.initialize(new Shape(3, N));
                ai.lorapro.nn.Weights.assign(layer.getLoraB(), trainer.getManager().ones(new Shape(M, R)));
                body.accept(layer, trainer);
            }
        }
    }

    @Test
    void aFrozenFactorIsRefusedByLoraProAtTheFirstStep() {
        withFrozenB(
                layer -> LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f)).addLoraLayers(layer).build(),
                (layer, trainer) -> {
                    NDArray x = trainer.getManager().ones(new Shape(3, N));
                    float[] a0 = layer.getLoraA().getArray().toFloatArray();
                    IllegalStateException e = assertThrows(IllegalStateException.class, () -> trainStep(trainer, x));
                    assertTrue(e.getMessage().contains("lora_B is frozen"), e.getMessage());
                    assertArrayEquals(a0, layer.getLoraA().getArray().toFloatArray());
                });
    }

    @Test
    void plainAdamWTrainsTheOtherFactorOfAFrozenPair() {
        ResumableOptimizer[] built = new ResumableOptimizer[1];
        withFrozenB(
                layer -> built[0] =
                        PlainAdamW.builder().setLearningRateTracker(Tracker.fixed(1e-3f)).addLoraLayers(layer).build(),
                (layer, trainer) -> {
                    NDArray x = trainer.getManager().ones(new Shape(3, N));
                    float[] a0 = layer.getLoraA().getArray().toFloatArray();
                    float[] b0 = layer.getLoraB().getArray().toFloatArray();
                    // a target far from the random outputs: with sum(y^2), outputs nearly cancelling in
                    // B^T y gave A a tiny gradient, and Adam's first step (lr in every coordinate)
                    // could raise the loss (seen once in CI)
                    NDArray target = trainer.getManager().full(new Shape(3, M), 10f);
                    float first = trainStepTowards(trainer, x, target);
                    assertFalse(java.util.Arrays.equals(a0, layer.getLoraA().getArray().toFloatArray()), "A did not move");
                    float second = trainStepTowards(trainer, x, target);
                    assertTrue(second < first, "loss " + first + " -> " + second);
                    assertArrayEquals(b0, layer.getLoraB().getArray().toFloatArray());
                    assertEquals(2, built[0].exportState(trainer.getManager()).getSteps().get(LoraPairs.ROOT_NAME));
                });
    }

    /** One step on sum(y^2). */
    private static float trainStep(Trainer trainer, NDArray x) {
        return trainStepTowards(trainer, x, null);
    }

    /** One step on sum((y - target)^2), or sum(y^2) without a target. */
    private static float trainStepTowards(Trainer trainer, NDArray x, NDArray target) {
        float loss;
        try (GradientCollector collector = trainer.newGradientCollector()) {
            NDArray y = trainer.forward(new NDList(x)).singletonOrThrow();
            NDArray offset = target == null ? y : y.sub(target);
            NDArray l = offset.mul(offset).sum();
            loss = l.getFloat();
            collector.backward(l);
        }
        trainer.step();
        return loss;
    }

    @Test
    void nonFiniteGradientsSkipTheStepAndLeaveStateUnchanged() {
        PairAndHead f = new PairAndHead(4);
        LoraProAdamW optimizer = adamw(f).build();
        Random rng = new Random(5);
        f.update(optimizer, f.a, random(rng, R, N));
        f.update(optimizer, f.b, random(rng, M, R));
        float[] a1 = f.a.getArray().toFloatArray();
        float[] b1 = f.b.getArray().toFloatArray();
        float[] m1 = optimizer.exportState(manager).getTensors().get("layer.exp_avg").toFloatArray();

        NDArray bad = random(rng, M, R);
        bad.set(new ai.djl.ndarray.index.NDIndex("0, 0"), Float.NaN);
        f.update(optimizer, f.a, random(rng, R, N));
        f.update(optimizer, f.b, bad);
        assertEquals(1, optimizer.getSkippedSteps());
        assertArrayEquals(a1, f.a.getArray().toFloatArray());
        assertArrayEquals(b1, f.b.getArray().toFloatArray());
        OptimizerState state = optimizer.exportState(manager);
        assertArrayEquals(m1, state.getTensors().get("layer.exp_avg").toFloatArray());
        assertEquals(1, state.getSteps().get("layer"));

        NDArray inf = manager.full(new Shape(3, 4), Float.POSITIVE_INFINITY);
        float[] head = f.head.getArray().toFloatArray();
        f.update(optimizer, f.head, inf);
        assertEquals(2, optimizer.getSkippedSteps());
        assertArrayEquals(head, f.head.getArray().toFloatArray());
    }

    @Test
    void theBuildersRefuseNoLoraLayerAndANonPositiveDelta() {
        // forgetting addLoraLayers (or calling it before the adapters exist) would train plain AdamW
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> LoraProAdamW.builder().setLearningRateTracker(Tracker.fixed(0.1f)).build());
        assertTrue(none.getMessage().contains("addLoraLayers"), none.getMessage());
        SequentialBlock withoutAdapters = new SequentialBlock()
                .add(LoraLinear.builder().setInFeatures(4).setOutFeatures(3).build());
        assertThrows(IllegalStateException.class, () -> LoraProSgd.builder()
                .setLearningRateTracker(Tracker.fixed(0.1f)).addLoraLayers(withoutAdapters).build());
        Parameter a = trainable("lora_A.weight", manager.zeros(new Shape(2, 4)));
        Parameter b = trainable("lora_B.weight", manager.zeros(new Shape(3, 2)));
        // B = 0 makes B^T B = 0: without a positive delta its inverse is infinite at every step
        for (double delta : new double[] {0, -1e-8, Double.NaN, Double.POSITIVE_INFINITY}) {
            InvalidFieldException e = assertThrows(InvalidFieldException.class, () -> LoraProAdamW.builder()
                    .setLearningRateTracker(Tracker.fixed(0.1f)).addLoraPair("pair", a, b, 1f).optDelta(delta).build());
            assertEquals("delta", e.field());
        }
    }

    @Test
    void plainParametersTakeAdamWAndSgdSteps() {
        PairAndHead f = new PairAndHead(6);
        LoraProAdamW adam = adamw(f).optBetas(0.8, 0.9).optEpsilon(1e-6).build();
        float[] w = f.head.getArray().toFloatArray();
        Random rng = new Random(7);
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        double[] expected = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            expected[i] = w[i];
        }
        for (int t = 1; t <= 3; t++) {
            NDArray g = random(rng, 3, 4);
            float[] gv = g.toFloatArray();
            f.update(adam, f.head, g);
            for (int i = 0; i < w.length; i++) {
                m[i] = 0.8 * m[i] + 0.2 * gv[i];
                v[i] = 0.9 * v[i] + 0.1 * gv[i] * gv[i];
                double u = (m[i] / (1 - Math.pow(0.8, t))) / (Math.sqrt(v[i] / (1 - Math.pow(0.9, t))) + 1e-6);
                expected[i] -= 1e-2 * (u + 0.1 * expected[i]);
            }
        }
        assertClose(expected, f.head.getArray().toFloatArray(), 1e-5);

        PairAndHead g = new PairAndHead(8);
        LoraProSgd sgd = LoraProSgd.builder()
                .setLearningRateTracker(Tracker.fixed(0.5f))
                .optWeightDecay(0.2f)
                .addLoraPair(g.a, g.b, S)
                .build();
        float[] before = g.head.getArray().toFloatArray();
        NDArray grad = random(rng, 3, 4);
        float[] gv = grad.toFloatArray();
        g.update(sgd, g.head, grad);
        double[] sgdExpected = new double[before.length];
        for (int i = 0; i < before.length; i++) {
            sgdExpected[i] = before[i] - 0.5 * (gv[i] + 0.2 * before[i]);
        }
        assertClose(sgdExpected, g.head.getArray().toFloatArray(), 1e-6);
    }

    private static void assertClose(double[] expected, float[] actual, double tolerance) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance * Math.max(1, Math.abs(expected[i])), "element " + i);
        }
    }

    @Test
    void stateSizesFollowTheMode() {
        PairAndHead f = new PairAndHead(9);
        Random rng = new Random(10);
        LoraProAdamW full = adamw(f).build();
        f.update(full, f.a, random(rng, R, N));
        f.update(full, f.b, random(rng, M, R));
        assertEquals(2L * M * N * 4, full.stateBytes());
        f.update(full, f.head, random(rng, 3, 4));
        assertEquals(2L * M * N * 4 + 2L * 12 * 4, full.stateBytes());

        PairAndHead e = new PairAndHead(9);
        LoraProAdamW efficient = adamw(e).optMode(LoraProAdamW.Mode.EFFICIENT).build();
        e.update(efficient, e.b, random(rng, M, R));
        e.update(efficient, e.a, random(rng, R, N));
        assertEquals(2L * (R * N + M * R) * 4, efficient.stateBytes());

        PairAndHead s = new PairAndHead(9);
        LoraProSgd sgd = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f)).addLoraPair(s.a, s.b, S).build();
        s.update(sgd, s.a, random(rng, R, N));
        s.update(sgd, s.b, random(rng, M, R));
        assertEquals(0, sgd.stateBytes());
    }

    @Test
    void exportedStateResumesExactly() {
        for (LoraProAdamW.Mode mode : LoraProAdamW.Mode.values()) {
            PairAndHead original = new PairAndHead(11);
            LoraProAdamW first = adamw(original).optMode(mode).build();
            Random rng = new Random(12);
            Supplier<NDArray[]> grads = () -> new NDArray[] {random(rng, R, N), random(rng, M, R), random(rng, 3, 4)};
            for (int step = 0; step < 2; step++) {
                NDArray[] g = grads.get();
                original.update(first, original.a, g[0]);
                original.update(first, original.b, g[1]);
                original.update(first, original.head, g[2]);
            }
            PairAndHead resumed = new PairAndHead(11);
            resumed.a.getArray().set(new ai.djl.ndarray.index.NDIndex("..."), original.a.getArray());
            resumed.b.getArray().set(new ai.djl.ndarray.index.NDIndex("..."), original.b.getArray());
            resumed.head.getArray().set(new ai.djl.ndarray.index.NDIndex("..."), original.head.getArray());
            LoraProAdamW second = adamw(resumed).optMode(mode).build();
            try (NDManager exported = manager.newSubManager()) {
                second.importState(first.exportState(exported));
            }
            NDArray[] g = grads.get();
            original.update(first, original.a, g[0]);
            original.update(first, original.b, g[1]);
            resumed.update(second, resumed.a, g[0]);
            resumed.update(second, resumed.b, g[1]);
            assertArrayEquals(original.a.getArray().toFloatArray(), resumed.a.getArray().toFloatArray(), 1e-7f);
            assertArrayEquals(original.b.getArray().toFloatArray(), resumed.b.getArray().toFloatArray(), 1e-7f);
            assertEquals(3, second.exportState(manager).getSteps().get("layer"));
            first.close();
            second.close();
        }
    }

    /**
     * A state saved in the other mode, by another kind of optimizer, for other shapes or with an
     * array no optimizer keeps is refused at import, naming the array, and leaves the state as it
     * was (it used to lie unused while the moments started again from zero, at a late step count).
     */
    @Test
    void importRefusesArraysThisOptimizerDoesNotKeep() {
        Random rng = new Random(14);
        Map<LoraProAdamW.Mode, OptimizerState> saved = new java.util.EnumMap<>(LoraProAdamW.Mode.class);
        for (LoraProAdamW.Mode mode : LoraProAdamW.Mode.values()) {
            PairAndHead f = new PairAndHead(15);
            try (LoraProAdamW optimizer = adamw(f).optMode(mode).build()) {
                f.update(optimizer, f.a, random(rng, R, N));
                f.update(optimizer, f.b, random(rng, M, R));
                f.update(optimizer, f.head, random(rng, 3, 4));
                saved.put(mode, optimizer.exportState(manager));
            }
        }
        for (LoraProAdamW.Mode mode : LoraProAdamW.Mode.values()) {
            LoraProAdamW.Mode other = mode == LoraProAdamW.Mode.FULL ? LoraProAdamW.Mode.EFFICIENT : LoraProAdamW.Mode.FULL;
            PairAndHead f = new PairAndHead(16);
            try (LoraProAdamW optimizer = adamw(f).optMode(mode).build()) {
                InvalidInputException e = assertThrows(InvalidInputException.class,
                        () -> optimizer.importState(saved.get(other)));
                assertTrue(e.getMessage().contains("is not one this optimizer keeps")
                        && e.getMessage().contains(mode == LoraProAdamW.Mode.FULL ? "layer.exp_avg_sq" : "layer.lora_B.weight.exp_avg"),
                        e.getMessage());
                assertEquals(Map.of(), optimizer.exportState(manager).getTensors());
                // its own mode's state is taken
                optimizer.importState(saved.get(mode));
                assertEquals(saved.get(mode).getTensors().keySet(), optimizer.exportState(manager).getTensors().keySet());
            }
        }
        // LoRA-Pro SGD keeps no moments at all
        PairAndHead f = new PairAndHead(17);
        try (LoraProSgd sgd = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.1f))
                .addLoraPair("layer", f.a, f.b, S).nameParameter("head.weight", f.head).build()) {
            OptimizerState full = saved.get(LoraProAdamW.Mode.FULL);
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> sgd.importState(
                    new OptimizerState(Map.of("layer.exp_avg", full.getTensors().get("layer.exp_avg")), full.getSteps())));
            assertTrue(e.getMessage().contains("'layer.exp_avg' is not one this optimizer keeps; it keeps no array for"
                    + " 'layer'"), e.getMessage());
            // and the other way: SGD's state (step counts, no arrays) into AdamW, whose moments would start at zero
            OptimizerState sgdState = new OptimizerState(Map.of(), Map.of("layer", 5));
            try (LoraProAdamW adamw = adamw(new PairAndHead(20)).build()) {
                InvalidInputException missing = assertThrows(InvalidInputException.class, () -> adamw.importState(sgdState));
                assertTrue(missing.getMessage().contains("has a step count for 'layer' but no tensor 'layer.exp_avg"),
                        missing.getMessage());
            }
        }
        OptimizerState full = saved.get(LoraProAdamW.Mode.FULL);
        String missing = refusedEdit(full, 21, tensors -> tensors.remove("layer.exp_avg_sq"));
        assertTrue(missing.contains("no tensor 'layer.exp_avg_sq'"), missing);
        // a plain parameter's moment of another shape: refused at import, not at the first step
        String plainShape = refusedEdit(full, 22, tensors -> tensors.put("head.weight.exp_avg", manager.zeros(new Shape(4, 3))));
        assertTrue(plainShape.contains("'head.weight.exp_avg' has shape (4, 3), expected (3, 4)"), plainShape);
        // a full-mode state of another rank
        String pairShape = refusedEdit(full, 18, tensors -> tensors.put("layer.exp_avg", manager.zeros(new Shape(M + 1, N))));
        assertTrue(pairShape.contains("'layer.exp_avg' has shape (" + (M + 1) + ", " + N + "), expected (" + M + ", " + N
                + ")"), pairShape);
        // an array a parameter does not have
        String foreign = refusedEdit(full, 19,
                tensors -> tensors.put("head.weight.momentum_buffer", manager.zeros(new Shape(3, 4))));
        assertTrue(foreign.contains("'head.weight.momentum_buffer' is not one this optimizer keeps"), foreign);
    }

    /**
     * What a fresh full-mode optimizer says when it refuses {@code saved} with {@code edit} applied to
     * its arrays; it must keep no state.
     */
    private String refusedEdit(OptimizerState saved, long seed, Consumer<Map<String, NDArray>> edit) {
        try (LoraProAdamW optimizer = adamw(new PairAndHead(seed)).build()) {
            Map<String, NDArray> tensors = new HashMap<>(saved.getTensors());
            edit.accept(tensors);
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> optimizer.importState(new OptimizerState(tensors, saved.getSteps())));
            assertEquals(Map.of(), optimizer.exportState(manager).getTensors());
            return e.getMessage();
        }
    }

    @Test
    void importRejectsUnknownNames() {
        PairAndHead f = new PairAndHead(13);
        LoraProAdamW optimizer = adamw(f).build();
        OptimizerState state = new OptimizerState(Map.of(), Map.of("model.layers.9.q_proj", 4));
        assertThrows(InvalidInputException.class, () -> optimizer.importState(state));
    }

    @Test
    void loraLayersAreFoundInPlainDjlContainersAndBZeroStartsTraining() {
        for (int variant = 0; variant < 3; variant++) {
            LoraConfig config = LoraConfig.builder().setR(R).setAlpha(4).build();
            LoraLinear first = LoraLinear.builder().setInFeatures(N).setOutFeatures(M).optLora(config).build();
            LoraLinear second = LoraLinear.builder().setInFeatures(M).setOutFeatures(R).optLora(config).build();
            SequentialBlock net = new SequentialBlock().add(first).add(ai.djl.nn.Activation::relu).add(second);
            ResumableOptimizer optimizer;
            if (variant == 0) {
                optimizer = LoraProSgd.builder().setLearningRateTracker(Tracker.fixed(0.05f)).addLoraLayers(net).build();
            } else {
                optimizer = LoraProAdamW.builder()
                        .setLearningRateTracker(Tracker.fixed(0.01f))
                        .optMode(variant == 1 ? LoraProAdamW.Mode.FULL : LoraProAdamW.Mode.EFFICIENT)
                        .addLoraLayers(net)
                        .build();
            }
            assertEquals(2, optimizer.getPairs().size(), optimizer.getPairs().toString());
            try (Model model = Model.newInstance("bzero")) {
                model.setBlock(net);
                try (Trainer trainer = model.newTrainer(new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer))) {
                    ai.djl.engine.Engine.getInstance().setRandomSeed(20 + variant); // the same net in every run
                    trainer.initialize(new Shape(4, N));
                    assertEquals(0f, first.getLoraB().getArray().abs().max().getFloat());
                    NDArray x = random(new Random(14), 4, N).toDevice(trainer.getDevices()[0], false);
                    float w0Before = first.getWeight().getArray().sum().getFloat();
                    float loss0 = trainStep(trainer, x);
                    float loss = loss0;
                    for (int i = 0; i < 5; i++) {
                        loss = trainStep(trainer, x);
                    }
                    assertTrue(Float.isFinite(loss), "variant " + variant);
                    assertTrue(loss < loss0, "variant " + variant + ": " + loss0 + " -> " + loss);
                    for (LoraLinear layer : new LoraLinear[] {first, second}) {
                        NDArray b = layer.getLoraB().getArray();
                        assertTrue(Finiteness.isAllFinite(b));
                        assertTrue(Finiteness.isAllFinite(layer.getLoraA().getArray()));
                        assertTrue(b.abs().max().getFloat() > 0, "B was not updated, variant " + variant);
                    }
                    assertEquals(w0Before, first.getWeight().getArray().sum().getFloat());
                    assertEquals(0, optimizer.getSkippedSteps());
                }
            }
            optimizer.close();
        }
    }
    @Test
    void stepsLeaveNoArraysBehind() {
        for (LoraProAdamW.Mode mode : LoraProAdamW.Mode.values()) {
            PairAndHead f = new PairAndHead(15);
            LoraProAdamW optimizer = adamw(f).optMode(mode).build();
            Random rng = new Random(16);
            NDArray gA = random(rng, R, N);
            NDArray gB = random(rng, M, R);
            NDArray gHead = random(rng, 3, 4);
            // the first step creates the moments
            f.update(optimizer, f.a, gA);
            f.update(optimizer, f.b, gB);
            f.update(optimizer, f.head, gHead);
            int live = manager.getManagedArrays().size();
            for (int step = 0; step < 5; step++) {
                f.update(optimizer, f.b, gB);
                f.update(optimizer, f.a, gA);
                f.update(optimizer, f.head, gHead);
            }
            assertEquals(live, manager.getManagedArrays().size(), "arrays leaked in mode " + mode);
            optimizer.close();
        }
    }
}
