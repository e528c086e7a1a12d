package ai.lorapro.optim;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.nn.Weights;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replays the golden LoRA-Pro trajectories (computed in float64 from the paper's closed forms)
 * through the real training path: a {@link LoraLinear} in a DJL {@link Trainer} whose effective
 * weight receives exactly the recorded gradients, stepped by our optimizers.
 */
class GoldenTrajectoryTest {

    private static final double TOLERANCE = 1e-4;
    /** Bound on the relative error with bf16 moments (8 significant bits: up to 2^-8 relative per rounding). */
    private static final double BF16_TOLERANCE = 2e-2;

    /** Every trajectory, through the default path (the fused kernel for full-mode AdamW on the CPU). */
    @TestFactory
    Stream<DynamicTest> goldenTrajectories() throws IOException, URISyntaxException {
        List<Path> files = goldenFiles();
        assertFalse(files.isEmpty(), "no golden trajectory files found");
        return files.stream()
                .map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> replay(f, true, StateDType.FP32)));
    }

    /** The full-mode AdamW trajectories through the tensor-operation path (what a GPU runs). */
    @TestFactory
    Stream<DynamicTest> fullModeTrajectoriesThroughTensorOperations() throws IOException, URISyntaxException {
        return fullModeFiles().map(f ->
                DynamicTest.dynamicTest(f.getFileName().toString(), () -> replay(f, false, StateDType.FP32)));
    }

    private static Stream<Path> fullModeFiles() throws IOException, URISyntaxException {
        List<Path> files = new ArrayList<>();
        for (Path f : goldenFiles()) {
            try (SafetensorsFile golden = SafetensorsFile.open(f)) {
                Map<String, String> meta = golden.metadata();
                if ("adamw".equals(meta.get("optimizer")) && "full".equals(meta.get("mode"))) {
                    files.add(f);
                }
            }
        }
        assertFalse(files.isEmpty(), "no full-mode AdamW trajectory found");
        return files.stream();
    }

    /**
     * bf16 moments on the full-mode AdamW trajectories: the largest relative error over all steps
     * (printed for the documentation) must stay below {@link #BF16_TOLERANCE}; the fp32 bound does
     * not apply.
     */
    @TestFactory
    Stream<DynamicTest> fullModeTrajectoriesWithBf16Moments() throws IOException, URISyntaxException {
        return fullModeFiles().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            double worst = replay(f, true, StateDType.BF16);
            System.out.printf("bf16 moments: %s: largest relative error %.3g%n", f.getFileName(), worst);
        }));
    }

    static List<Path> goldenFiles() throws IOException, URISyntaxException {
        Set<Path> dirs = new LinkedHashSet<>();
        URL bundled = GoldenTrajectoryTest.class.getResource("/golden/lorapro");
        if (bundled != null) {
            dirs.add(Paths.get(bundled.toURI()).toRealPath());
        }
        String override = System.getProperty("lorapro.golden.dir");
        if (override != null && !override.isBlank()) {
            dirs.add(Paths.get(override).toRealPath());
        }
        List<Path> files = new ArrayList<>();
        for (Path dir : dirs) {
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.toString().endsWith(".safetensors")).sorted().forEach(files::add);
            }
        }
        return files;
    }

    /** Replays {@code file} and returns the largest relative error of A or B over all steps. */
    private static double replay(Path file, boolean fused, StateDType stateDType) {
        double tolerance = stateDType == StateDType.FP32 ? TOLERANCE : BF16_TOLERANCE;
        double worst = 0;
        try (SafetensorsFile golden = SafetensorsFile.open(file)) {
            Map<String, String> meta = golden.metadata();
            Shape a0Shape = golden.info("A0").shape();
            Shape b0Shape = golden.info("B0").shape();
            int r = (int) a0Shape.get(0);
            int n = (int) a0Shape.get(1);
            int m = (int) b0Shape.get(0);
            int steps = Integer.parseInt(meta.get("steps"));
            float scaling = Float.parseFloat(meta.get("scaling"));

            LoraConfig config = LoraConfig.builder().setR(r).setAlpha(scaling * r).build();
            assertEquals(scaling, config.getScaling(), 1e-6f);
            LoraLinear layer = LoraLinear.builder().setInFeatures(n).setOutFeatures(m).optLora(config).build();
            Optimizer optimizer = optimizer(meta, layer, fused, stateDType);

            try (Model model = Model.newInstance("golden")) {
                model.setBlock(layer);
                DefaultTrainingConfig training = new DefaultTrainingConfig(Loss.l2Loss()).optOptimizer(optimizer);
                try (Trainer trainer = model.newTrainer(training)) {
                    trainer.initialize(new Shape(n, n));
                    NDManager manager = trainer.getManager();
                    try (NDArray w0 = manager.zeros(new Shape(m, n));
                            NDArray a0 = golden.load(manager, "A0");
                            NDArray b0 = golden.load(manager, "B0")) {
                        Weights.assign(layer.getWeight(), w0);
                        Weights.assign(layer.getLoraA(), a0);
                        Weights.assign(layer.getLoraB(), b0);
                    }
                    float[] expectedA = golden.floats("A");
                    float[] expectedB = golden.floats("B");
                    try (NDManager stepManager = manager.newSubManager();
                            NDArray grads = golden.load(stepManager, "grads");
                            NDArray identity = stepManager.eye(n)) {
                        for (int t = 0; t < steps; t++) {
                            try (NDManager scope = stepManager.newSubManager()) {
                                NDArray g = grads.get(new NDIndex(t));
                                g.attach(scope);
                                try (GradientCollector collector = trainer.newGradientCollector()) {
                                    // y = I W_eff^T, so sum(y * g^T) has dL/dW_eff = g
                                    NDArray y = trainer.forward(new NDList(identity)).singletonOrThrow();
                                    y.attach(scope);
                                    NDArray loss = y.mul(g.transpose()).sum();
                                    collector.backward(loss);
                                }
                                trainer.step();
                            }
                            worst = Math.max(worst, assertClose(
                                    file, "A", t, expectedA, layer.getLoraA().getArray(), r * n, tolerance));
                            worst = Math.max(worst, assertClose(
                                    file, "B", t, expectedB, layer.getLoraB().getArray(), m * r, tolerance));
                        }
                    }
                }
            }
            if (optimizer instanceof LoraProOptimizer) {
                assertEquals(0, ((LoraProOptimizer) optimizer).getSkippedSteps());
                ((LoraProOptimizer) optimizer).close();
            }
        }
        return worst;
    }

    private static Optimizer optimizer(Map<String, String> meta, LoraLinear layer, boolean fused, StateDType stateDType) {
        float lr = Float.parseFloat(meta.get("lr"));
        XMode xMode = XMode.fromString(meta.get("x_mode"));
        double delta = Double.parseDouble(meta.get("delta"));
        float weightDecay = Float.parseFloat(meta.get("weight_decay"));
        switch (meta.get("optimizer")) {
            case "sgd":
                return LoraProSgd.builder()
                        .setLearningRateTracker(Tracker.fixed(lr))
                        .optWeightDecay(weightDecay)
                        .optDelta(delta)
                        .optXMode(xMode)
                        .addLoraLayers(layer)
                        .build();
            case "adamw":
                return LoraProAdamW.builder()
                        .setLearningRateTracker(Tracker.fixed(lr))
                        .optBetas(Double.parseDouble(meta.get("beta1")), Double.parseDouble(meta.get("beta2")))
                        .optEpsilon(Double.parseDouble(meta.get("eps")))
                        .optWeightDecay(weightDecay)
                        .optDelta(delta)
                        .optXMode(xMode)
                        .optMode(LoraProAdamW.Mode.fromString(meta.get("mode")))
                        .optFusedCpuStep(fused)
                        .optStateDType(stateDType)
                        .addLoraLayers(layer)
                        .build();
            default:
                throw new IllegalArgumentException("unknown optimizer " + meta.get("optimizer"));
        }
    }

    private static double assertClose(
            Path file, String name, int step, float[] expectedAll, NDArray actual, int size, double tolerance) {
        assertEquals(DataType.FLOAT32, actual.getDataType());
        float[] got = actual.toFloatArray();
        assertEquals(size, got.length);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < size; i++) {
            double e = expectedAll[step * size + i];
            double d = got[i] - e;
            diff += d * d;
            norm += e * e;
        }
        double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
        assertTrue(
                rel <= tolerance,
                file.getFileName() + ": " + name + " after step " + (step + 1) + " has relative error " + rel);
        return rel;
    }
}
