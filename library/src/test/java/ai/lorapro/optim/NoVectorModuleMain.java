package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;

/**
 * Two fused LoRA-Pro AdamW steps in a JVM started without {@code --add-modules
 * jdk.incubator.vector} (by {@link VectorAdamKernelTest}): prints which kernel ran and whether the
 * factors stayed finite.
 */
public final class NoVectorModuleMain {

    private NoVectorModuleMain() {}

    /** Runs the steps; prints "kernel=... vectorAvailable=..." and "steps=2 finite=...". */
    public static void main(String[] args) {
        try (NDManager manager = NDManager.newBaseManager()) {
            Parameter a = parameter(manager, "lora_A.weight", manager.randomNormal(new Shape(4, 40)).muli(0.1));
            Parameter b = parameter(manager, "lora_B.weight", manager.randomNormal(new Shape(36, 4)).muli(0.1));
            try (LoraProAdamW optimizer = LoraProAdamW.builder()
                    .setLearningRateTracker(Tracker.fixed(1e-3f))
                    .addLoraPair("pair", a, b, 2f)
                    .build()) {
                for (int step = 0; step < 2; step++) {
                    try (NDArray gradA = manager.randomNormal(new Shape(4, 40)).muli(1e-2);
                            NDArray gradB = manager.randomNormal(new Shape(36, 4)).muli(1e-2)) {
                        optimizer.update(a.getId(), a.getArray(), gradA);
                        optimizer.update(b.getId(), b.getArray(), gradB);
                    }
                }
            }
            boolean finite = true;
            for (Parameter p : new Parameter[] {a, b}) {
                for (float x : p.getArray().toFloatArray()) {
                    finite &= Float.isFinite(x);
                }
            }
            System.out.println("kernel=" + FusedKernels.active() + " vectorAvailable=" + FusedKernels.vectorAvailable());
            System.out.println("steps=2 finite=" + finite);
        }
    }

    private static Parameter parameter(NDManager manager, String name, NDArray value) {
        value.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(value);
        return p;
    }
}
