package ai.lorapro.benchmarks;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.optim.FusedKernels;
import ai.lorapro.optim.LoraProAdamW;
import ai.lorapro.optim.LoraProSgd;
import ai.lorapro.optim.ResumableOptimizer;
import ai.lorapro.optim.StateDType;

import java.io.PrintStream;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Map;

/**
 * One optimizer step of one adapted matrix W = W0 + s B A (B m x r, A r x n) at Llama-2-7B's (or
 * TinyLlama's) shapes, driven through {@link Optimizer#update} exactly as DJL's parameter server
 * calls it: once per factor, with a fresh duplicate of the gradient, the weight's own gradient
 * attached.
 */
final class OptimizerStepBench {

    /** The default rank r of the adapted matrices. */
    static final int DEFAULT_RANK = 8;
    static final float SCALING = 2f;
    /** The shape sets of {@code --shapes}: Llama-2-7B's three (the default), and TinyLlama 1.1B's four. */
    static final Map<String, long[][]> SHAPE_SETS = Map.of(
            "llama-2-7b", new long[][] {{4096, 4096}, {11008, 4096}, {4096, 11008}},
            // q and o; k and v; gate and up; down (out x in, as the adapted matrices W are)
            "tinyllama", new long[][] {{2048, 2048}, {256, 2048}, {5632, 2048}, {2048, 5632}});
    static final List<String> METHODS = List.of(
            "lora-adamw", "lora-pro-full", "lora-pro-full-fused", "lora-pro-full-fused-bf16", "lora-pro-efficient",
            "lora-pro-sgd");
    /**
     * A suffix for the fused methods that forces the plain-loop kernel (the other fused methods run
     * whichever kernel {@link FusedKernels} picks: the Vector API one when its module is present).
     */
    static final String SCALAR_SUFFIX = "-scalar";
    /** Bytes a full-mode step must move at least: read and write both fp32 moments once. */
    static final int BOUND_BYTES_PER_ELEMENT = 16;
    /**
     * Bytes per element the tensor-operation step's DJL operations move (FullAdamStep's twelve
     * passes, counted in docs/benchmarks.md): what the step must move as written, not what it could.
     */
    static final int STEP_BYTES_PER_ELEMENT = 96;
    /** Bytes per element the bf16 moments need at least: read and write both 2-byte moments once. */
    static final int BF16_BOUND_BYTES_PER_ELEMENT = 8;
    /**
     * Before any shape is timed, each method runs this many steps on {@link #JIT_SHAPE}, so that
     * the JIT has compiled its code: a training run takes thousands of steps, and its first steps'
     * compilation (about a hundred milliseconds for the fused kernel) is not what a step costs.
     */
    static final int JIT_STEPS = 200;
    /**
     * The small shape of the JIT warm-up (m, n): whole row groups, column strips and scalar tail
     * columns at every vector width (1036 is no multiple of 8).
     */
    static final long[] JIT_SHAPE = {1024, 1036};

    private final int warmup;
    private final int timed;
    private final PrintStream out;
    private final List<String> methods;
    private final List<Long> bandwidthMib;
    private final long[][] shapes;
    private final int rank;

    /**
     * @param bandwidthMib array sizes (MiB per array, raised to {@link Bandwidth#arrayBytes}) at which
     *     bandwidth is measured; the last one's in-place add gives the bounds
     */
    OptimizerStepBench(int warmup, int timed, List<String> methods, List<Long> bandwidthMib, String shapeSet,
            int rank, PrintStream out) {
        if (rank < 1) {
            throw new IllegalArgumentException("--rank must be at least 1, got " + rank);
        }
        this.rank = rank;
        this.shapes = SHAPE_SETS.get(shapeSet);
        if (shapes == null) {
            throw new IllegalArgumentException("--shapes must be one of " + SHAPE_SETS.keySet() + ", got " + shapeSet);
        }
        for (long[] shape : shapes) {
            if (rank > Math.min(shape[0], shape[1])) {
                throw new IllegalArgumentException(
                        "--rank " + rank + " exceeds the smaller side of the " + shape[0] + " x " + shape[1] + " matrix");
            }
        }
        this.warmup = warmup;
        this.bandwidthMib = bandwidthMib;
        this.timed = timed;
        this.methods = methods;
        this.out = out;
    }

    void run(NDManager root) {
        double gbPerS = 0;
        for (long mib : bandwidthMib) {
            long elements = Bandwidth.arrayBytes(mib << 20) / Float.BYTES;
            for (Bandwidth.Result r : Bandwidth.measure(root, elements, 1, Math.max(timed, 5))) {
                out.println(
                        JsonLine.of("bandwidth")
                                .put("op", r.op)
                                .put("elements", r.elements)
                                .put("array_bytes", r.elements * Float.BYTES)
                                .put("llc_bytes", Bandwidth.lastLevelCacheBytes())
                                .put("bytes_per_element", r.bytesPerElement)
                                .put("ms", r.ms)
                                .put("min_ms", r.minMs)
                                .put("gb_per_s", r.gbPerS)
                                .withMachine());
                if (r.op.equals("add-in-place")) {
                    // the largest arrays come last: their figure is the least cache-inflated
                    gbPerS = r.gbPerS;
                }
            }
        }
        Bandwidth.Result java = Bandwidth.measureJava(
                Bandwidth.arrayBytes(bandwidthMib.get(bandwidthMib.size() - 1) << 20) / Float.BYTES, 1, Math.max(timed, 5));
        out.println(
                JsonLine.of("bandwidth")
                        .put("op", java.op)
                        .put("elements", java.elements)
                        .put("array_bytes", java.elements * Float.BYTES)
                        .put("bytes_per_element", java.bytesPerElement)
                        .put("threads", Runtime.getRuntime().availableProcessors())
                        .put("ms", java.ms)
                        .put("min_ms", java.minMs)
                        .put("gb_per_s", java.gbPerS)
                        .withMachine());
        // the stricter bound: whichever of PyTorch's and Java's loops streamed faster
        gbPerS = Math.max(gbPerS, java.gbPerS);
        // the Java pass's arrays (up to 16x the last-level cache) are garbage now: collect them before
        // any step is timed, or the collector's concurrent cycles share the two cores with the steps
        System.gc();
        ComputePeak.Result peak = ComputePeak.measure(3);
        out.println(
                JsonLine.of("compute-peak")
                        .put("lanes", peak.lanes())
                        .put("threads", peak.cores())
                        .put("fma_ns", peak.fmaNs())
                        .put("sqrt_add_div_ns", peak.divideNs())
                        .withMachine());
        for (String method : methods) {
            measure(root, method, JIT_SHAPE[0], JIT_SHAPE[1], gbPerS, peak, JIT_STEPS, 1);
        }
        for (long[] shape : shapes) {
            for (String method : methods) {
                out.println(measure(root, method, shape[0], shape[1], gbPerS, peak, warmup, timed));
            }
        }
    }

    private JsonLine measure(NDManager root, String method, long m, long n, double gbPerS, ComputePeak.Result peak,
            int warmup, int timed) {
        boolean forceScalar = method.startsWith("lora-pro-full-fused") && method.endsWith(SCALAR_SUFFIX);
        String previous = System.getProperty(FusedKernels.PROPERTY);
        if (forceScalar) {
            System.setProperty(FusedKernels.PROPERTY, "scalar");
        }
        try {
            return measure(root, method, forceScalar ? method.substring(0, method.length() - SCALAR_SUFFIX.length()) : method,
                    m, n, gbPerS, peak, warmup, timed);
        } finally {
            if (previous == null) {
                System.clearProperty(FusedKernels.PROPERTY);
            } else {
                System.setProperty(FusedKernels.PROPERTY, previous);
            }
        }
    }

    /** One method at one shape; {@code base} is the method without {@link #SCALAR_SUFFIX}. */
    private JsonLine measure(NDManager root, String method, String base, long m, long n, double gbPerS,
            ComputePeak.Result peak, int warmup, int timed) {
        try (NDManager manager = root.newSubManager()) {
            manager.getEngine().setRandomSeed(7);
            Parameter a = parameter(manager, "lora_A.weight", new Shape(rank, n), 1 / Math.sqrt(n));
            Parameter b = parameter(manager, "lora_B.weight", new Shape(m, rank), 0.01);
            NDArray gradA = manager.randomNormal(0, 1e-3f, new Shape(rank, n), DataType.FLOAT32);
            NDArray gradB = manager.randomNormal(0, 1e-3f, new Shape(m, rank), DataType.FLOAT32);
            Optimizer optimizer = optimizer(base, a, b);
            try {
                double[] cpuMs = new double[timed];
                int[] call = {0};
                double[] ms =
                        Timing.run(
                                warmup,
                                timed,
                                () -> {
                                    long cpu = processCpuNanos();
                                    update(optimizer, a, gradA);
                                    update(optimizer, b, gradB);
                                    if (call[0] >= warmup) {
                                        cpuMs[call[0] - warmup] = (processCpuNanos() - cpu) / 1e6;
                                    }
                                    call[0]++;
                                });
                double median = Timing.median(ms);
                JsonLine line =
                        JsonLine.of("optimizer-step")
                                .put("method", method)
                                .put("m", m)
                                .put("n", n)
                                .put("r", rank)
                                .put("ms", median)
                                .put("min_ms", Timing.min(ms))
                                .put("cpu_ms", Timing.median(cpuMs))
                                .put("steps", timed)
                                .put("warmup_steps", warmup)
                                .put("jit_warmup_steps", JIT_STEPS)
                                .put("state_bytes", stateBytes(optimizer));
                if (base.startsWith("lora-pro-full")) {
                    boolean fused = base.startsWith("lora-pro-full-fused");
                    boolean bf16 = base.endsWith("-bf16");
                    if (fused) {
                        // what the kernel's arithmetic takes at the peak rates measured in this run
                        line.put("kernel", FusedKernels.active())
                                .put("fma_ms", peak.fmaMs(m, n, rank))
                                .put("sqrt_add_div_ms", peak.divideMs(m, n))
                                .put("arithmetic_ms", peak.arithmeticMs(m, n, rank))
                                .put("ratio_to_arithmetic", median / peak.arithmeticMs(m, n, rank));
                    }
                    // the 16-byte bound of fp32 moments for every method; bf16 lines add their own
                    double boundMs = BOUND_BYTES_PER_ELEMENT * (double) m * n / (gbPerS * 1e6);
                    int passBytes = fused ? (bf16 ? BF16_BOUND_BYTES_PER_ELEMENT : BOUND_BYTES_PER_ELEMENT)
                            : STEP_BYTES_PER_ELEMENT;
                    double passesMs = passBytes * (double) m * n / (gbPerS * 1e6);
                    line.put("state_dtype", bf16 ? "bf16" : "fp32")
                            .put("passes_over_moments", fused ? 1 : 12)
                            .put("pass_bytes_per_element", passBytes)
                            .put("bound_ms", boundMs)
                            .put("ratio_to_bound", median / boundMs)
                            .put("bound_gb_per_s", gbPerS)
                            .put("passes_ms", passesMs)
                            .put("ratio_to_passes", median / passesMs);
                }
                return line.withMachine();
            } finally {
                if (optimizer instanceof AutoCloseable) {
                    try {
                        ((AutoCloseable) optimizer).close();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
    }

    /**
     * CPU time of the whole process (all threads, native ones included), which other processes'
     * load inflates far less than wall time.
     */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** What DJL's LocalParameterServer does: update with a duplicate of the gradient, then close it. */
    private static void update(Optimizer optimizer, Parameter p, NDArray grad) {
        try (NDArray copy = grad.duplicate()) {
            optimizer.update(p.getId(), p.getArray(), copy);
        }
    }

    private static Parameter parameter(NDManager manager, String name, Shape shape, double std) {
        NDArray array = manager.randomNormal(0, (float) std, shape, DataType.FLOAT32);
        array.setRequiresGradient(true);
        Parameter p = Parameter.builder().setName(name).setType(Parameter.Type.WEIGHT).build();
        p.setArray(array);
        return p;
    }

    private static Optimizer optimizer(String method, Parameter a, Parameter b) {
        Tracker lr = Tracker.fixed(1e-4f);
        switch (method) {
            case "lora-adamw":
                return Optimizer.adamW().optLearningRateTracker(lr).optWeightDecays(0f).build();
            case "lora-pro-full":
                return LoraProAdamW.builder()
                        .setLearningRateTracker(lr)
                        .optMode(LoraProAdamW.Mode.FULL)
                        .optFusedCpuStep(false)
                        .addLoraPair("pair", a, b, SCALING)
                        .build();
            case "lora-pro-full-fused":
            case "lora-pro-full-fused-bf16":
                return LoraProAdamW.builder()
                        .setLearningRateTracker(lr)
                        .optMode(LoraProAdamW.Mode.FULL)
                        .optStateDType(method.endsWith("-bf16") ? StateDType.BF16 : StateDType.FP32)
                        .addLoraPair("pair", a, b, SCALING)
                        .build();
            case "lora-pro-efficient":
                return LoraProAdamW.builder()
                        .setLearningRateTracker(lr)
                        .optMode(LoraProAdamW.Mode.EFFICIENT)
                        .addLoraPair("pair", a, b, SCALING)
                        .build();
            case "lora-pro-sgd":
                return LoraProSgd.builder().setLearningRateTracker(lr).addLoraPair("pair", a, b, SCALING).build();
            default:
                throw new IllegalArgumentException("unknown method " + method);
        }
    }

    /**
     * The optimizer's state in bytes: the LoRA-Pro optimizers report it; DJL's AdamW keeps its
     * moments in private maps, read here by reflection so the figure is measured, not assumed.
     */
    static long stateBytes(Optimizer optimizer) {
        if (optimizer instanceof ResumableOptimizer) {
            return ((ResumableOptimizer) optimizer).stateBytes();
        }
        long total = 0;
        for (String field : new String[] {"means", "variances"}) {
            total += bytesOfStateMap(optimizer, field);
        }
        return total;
    }

    private static long bytesOfStateMap(Optimizer optimizer, String fieldName) {
        try {
            Field field = optimizer.getClass().getDeclaredField(fieldName);
            field.setAccessible(true);
            @SuppressWarnings("unchecked")
            Map<String, Map<Device, NDArray>> map = (Map<String, Map<Device, NDArray>>) field.get(optimizer);
            long total = 0;
            for (Map<Device, NDArray> perDevice : map.values()) {
                for (NDArray array : perDevice.values()) {
                    total += array.getShape().size() * array.getDataType().getNumOfBytes();
                }
            }
            return total;
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }
}
