package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * LoRA-Pro with AdamW (Algorithm 2 of the paper).
 *
 * <p>{@link Mode#FULL} (the default) keeps Adam's moments of the equivalent full-rank gradient g~
 * (one m x n pair of float arrays per layer), forms u = m_hat / (sqrt(v_hat) + eps), projects it
 * back to the factors as gA = s B^T u and gB = s u A^T, adjusts those with the configured {@link
 * XMode} and steps A ← A - lr (uA + wd A), B ← B - lr (uB + wd B). {@link Mode#EFFICIENT} adjusts
 * the LoRA gradients and then runs plain AdamW on A and B, with states the size of A and B. Every
 * other trainable parameter takes a plain AdamW step with the same decoupled weight decay.
 *
 * <p>Full mode runs fp32 pairs on the CPU through the fused one-pass kernel ({@link
 * FusedFullAdamStep}) and everything else through tensor operations ({@link FullAdamStep}); both
 * keep the same state. {@link Builder#optStateDType} can keep the CPU moments in bfloat16.
 *
 * <pre>{@code
 * try (LoraProAdamW adamw = LoraProAdamW.builder()
 *         .setLearningRateTracker(Tracker.fixed(1e-3f))
 *         .addLoraLayers(model.getBlock())
 *         .build()) {
 *     // DefaultTrainingConfig(loss).optOptimizer(adamw), train; closing frees the optimizer state
 * }
 * }</pre>
 */
public final class LoraProAdamW extends LoraProOptimizer {

    /** Where Adam's moments live. */
    public enum Mode {
        /** Moments of the equivalent full-rank gradient (m x n per layer): the paper's method. */
        FULL,
        /** Moments of the adjusted factor gradients (r x n and m x r per layer). */
        EFFICIENT;

        /**
         * Parses {@code full} or {@code efficient} (any case).
         *
         * @throws InvalidInputException for any other value
         */
        public static Mode fromString(String value) {
            if (value != null) {
                for (Mode mode : values()) {
                    if (mode.name().equalsIgnoreCase(value.trim())) {
                        return mode;
                    }
                }
            }
            throw new InvalidInputException("LoRA-Pro AdamW mode must be full or efficient, got '" + value + "'");
        }

        /** The lower-case name used in configuration files. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The largest rank whose fused step does its r-sized algebra on the host. The host loops cost
     * some 6.5 (m + n) r^2 multiply-adds on one thread, mostly without wide vectors: at r = 8 they
     * were as fast as the tensor operations or faster at every shape benchmarked; in exploratory runs
     * (not kept) r = 16 was as fast or up to 25% slower, r = 32 and 64 slower (docs/benchmarks.md,
     * "The r-sized algebra of the fused step on the host").
     */
    static final int HOST_ALGEBRA_MAX_RANK = 8;

    private final AdamSettings adam;
    private final Mode mode;
    /** Elements per block of the full-mode step on the CPU (see {@link FullAdamStep}). */
    private final long blockElements;
    private final StateDType stateDType;
    /** Whether full-mode steps on the CPU use {@link FusedFullAdamStep}. */
    private final boolean fusedCpuStep;

    private LoraProAdamW(Builder builder) {
        super(builder);
        this.adam = builder.adam;
        this.mode = builder.mode;
        this.blockElements = builder.blockElements;
        this.stateDType = builder.stateDType;
        this.fusedCpuStep = builder.fusedCpuStep;
    }

    /** {@inheritDoc} {@code LoraProAdamW(full)} or {@code LoraProAdamW(efficient)}. */
    @Override
    public String stateKind() {
        return mode == Mode.FULL ? "LoraProAdamW(full)" : "LoraProAdamW(efficient)";
    }

    /** A builder with defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0, full mode. */
    public static Builder builder() {
        return new Builder();
    }

    /** The mode. */
    public Mode getMode() {
        return mode;
    }

    /** How full mode stores its moments. */
    public StateDType getStateDType() {
        return stateDType;
    }

    @Override
    void stepPair(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate, int step) {
        double s = pair.getScaling();
        NDList adjusted;
        boolean fused = mode == Mode.FULL && fusedCpuStep && FusedFullAdamStep.supports(a);
        if (fused && a.getShape().get(0) <= HOST_ALGEBRA_MAX_RANK) {
            stepPairOnHost(pair, a, b, gradA, gradB, learningRate, step);
            return;
        }
        if (mode == Mode.FULL) {
            // the Grams depend on A and B only, so both adjustments of this step share them
            FactorGrams grams = FactorGrams.of(a, b, getDelta());
            // (1 - beta1) g~ as low-rank factors: the moment update needs no extra scaling pass
            NDList factors = new PairGeometry(a, b, grams, gradA, gradB, s).equivalentFactors(1 - adam.beta1());
            // the fused kernel reads the factors on the host: one copy serves it and the bound below
            float[] hostLeft = fused ? factors.get(0).toFloatArray() : null;
            float[] hostRight = fused ? factors.get(1).toFloatArray() : null;
            // the moments take g~ = left right / (1 - beta1): refused before they do if it (or its square)
            // could overflow them, which finite factors do not rule out
            double bound = fused
                    ? ProductBound.of(hostLeft, hostRight, Math.toIntExact(factors.get(0).getShape().get(1)))
                    : ProductBound.of(factors.get(0), factors.get(1));
            requireAtMost("the equivalent gradient", bound / (1 - adam.beta1()), AdamMoments.LARGEST_GRADIENT);
            String key = pair.getName();
            Shape full = new Shape(b.getShape().get(0), a.getShape().get(1));
            NDList projected;
            if (fused) {
                float[][] host = FusedFullAdamStep.projectedDirection(hostLeft, hostRight,
                        moment(key + ".exp_avg", full, a, false), moment(key + ".exp_avg_sq", full, a, true),
                        FactorRows.floats(a), FactorRows.floats(b), Math.toIntExact(a.getShape().get(0)), step, adam,
                        projectionScale(s, step));
                NDManager manager = a.getManager();
                projected = new NDList(manager.create(host[0], a.getShape()), manager.create(host[1], b.getShape()));
            } else {
                if (stateDType != StateDType.FP32) {
                    throw new IllegalStateException("LoRA pair " + key + ": " + stateDType.id() + " moments need the "
                            + "fused CPU step, but the pair is " + a.getDataType() + " on " + a.getDevice());
                }
                NDArray m = state(key + ".exp_avg", full, a);
                NDArray v = state(key + ".exp_avg_sq", full, a);
                projected = FullAdamStep.projectedDirection(factors, m, v, a, b, step, adam, projectionScale(s, step),
                        a.getDevice().isGpu() ? Long.MAX_VALUE : blockElements);
            }
            factors.close();
            PairGeometry geometry = new PairGeometry(a, b, grams, projected.get(0), projected.get(1), s);
            adjusted = geometry.adjusted(geometry.x(getXMode()));
            try {
                requireFiniteResult("the adjusted Adam direction", adjusted);
            } catch (NonFiniteResult e) {
                // only extreme factors get here: u is bounded once the moments are finite
                throw e.afterMoments();
            }
            DecoupledStep.apply(a, adjusted.get(0), learningRate, getWeightDecay());
            DecoupledStep.apply(b, adjusted.get(1), learningRate, getWeightDecay());
        } else {
            adjusted = LoraProMath.adjustedGradients(a, b, gradA, gradB, s, getDelta(), getXMode());
            // the moments take the adjusted gradients: refused before they do if their square could overflow them
            requireAtMost("the adjusted gradient", largestMagnitude(adjusted), AdamMoments.LARGEST_GRADIENT);
            adam.step(this, pair.getName() + ".lora_A.weight", a, adjusted.get(0), learningRate, step);
            adam.step(this, pair.getName() + ".lora_B.weight", b, adjusted.get(1), learningRate, step);
        }
    }

    /**
     * The full-mode step of an fp32 pair of rank at most {@link #HOST_ALGEBRA_MAX_RANK} on the CPU,
     * as {@link #stepPair}'s fused path does it but with the r-sized algebra on host copies of the
     * factors ({@link HostPairGeometry}): only the final update of A and B is a tensor operation.
     */
    private void stepPairOnHost(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate,
            int step) {
        double s = pair.getScaling();
        int rank = Math.toIntExact(a.getShape().get(0));
        float[] hostA = FactorRows.floats(a);
        float[] hostB = FactorRows.floats(b);
        float[][] aRows = FactorRows.rows(hostA, rank);
        float[][] bt = FactorRows.transposedRows(hostB, rank);
        // the Grams depend on A and B only, so both adjustments of this step share them
        FactorGrams grams = FactorGrams.ofRows(aRows, bt, getDelta());
        float[][] factors = new HostPairGeometry(aRows, bt, grams, FactorRows.rows(FactorRows.floats(gradA), rank),
                FactorRows.transposedRows(FactorRows.floats(gradB), rank), s).equivalentFactors(1 - adam.beta1());
        // as on the tensor path: g~ is refused before the moments take it if it could overflow them
        requireAtMost("the equivalent gradient", ProductBound.of(factors[0], factors[1], 2 * rank) / (1 - adam.beta1()),
                AdamMoments.LARGEST_GRADIENT);
        String key = pair.getName();
        Shape full = new Shape(b.getShape().get(0), a.getShape().get(1));
        float[][] projected = FusedFullAdamStep.projectedDirection(factors[0], factors[1],
                moment(key + ".exp_avg", full, a, false), moment(key + ".exp_avg_sq", full, a, true), hostA, hostB,
                rank, step, adam, projectionScale(s, step));
        HostPairGeometry geometry = new HostPairGeometry(aRows, bt, grams, FactorRows.rows(projected[0], rank),
                FactorRows.transposedRows(projected[1], rank), s);
        float[][][] adjusted = geometry.adjusted(geometry.x(getXMode()));
        if (!FactorRows.allFinite(adjusted[0]) || !FactorRows.allFinite(adjusted[1])) {
            // only extreme factors get here: u is bounded once the moments are finite
            throw new NonFiniteResult("the adjusted Adam direction is not finite", true);
        }
        NDManager manager = a.getManager();
        try (NDArray updateA = manager.create(FactorRows.rowMajor(adjusted[0]), a.getShape());
                NDArray updateB = manager.create(FactorRows.transposedRowMajor(adjusted[1]), b.getShape())) {
            DecoupledStep.apply(a, updateA, learningRate, getWeightDecay());
            DecoupledStep.apply(b, updateB, learningRate, getWeightDecay());
        }
    }

    /**
     * s times Adam's bias correction: u only feeds the two projections, so its bias correction is
     * applied to their r-sized results.
     */
    private double projectionScale(double s, int step) {
        return s * AdamMoments.biasScale(step, adam.beta1(), adam.beta2());
    }

    /**
     * A plain AdamW step on a parameter outside the LoRA pairs; {@code grad} is left untouched. The
     * moments and the arithmetic are float32 even for a float16 parameter (see {@link
     * StateStore#stateType}).
     */
    @Override
    void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step) {
        adam.step(this, name, weight, StateStore.stateTypeCopy(grad), learningRate, step);
    }

    /**
     * Full mode: the two m x n moments of g~ ({@code exp_avg}, {@code exp_avg_sq}); efficient mode:
     * each factor's moments.
     */
    @Override
    Map<String, Shape> pairState(LoraPair pair) {
        Shape a = shapeOf(pair.getLoraA());
        Shape b = shapeOf(pair.getLoraB());
        if (mode == Mode.EFFICIENT) {
            return AdamSettings.factorMoments(a, b);
        }
        return AdamSettings.moments("", a == null || b == null ? null : new Shape(b.get(0), a.get(1)));
    }

    @Override
    Set<String> parameterState() {
        return AdamSettings.MOMENTS;
    }

    /** A full-mode moment for the fused step, stored as {@link #stateDType} says. */
    private NDArray moment(String key, Shape shape, NDArray like, boolean variance) {
        return stateDType == StateDType.BF16 ? packedBf16State(key, shape, like, variance) : state(key, shape, like);
    }

    /** Builds a {@link LoraProAdamW}. */
    public static final class Builder extends LoraProOptimizer.Builder<Builder> {

        private AdamSettings adam = AdamSettings.DEFAULTS;
        private Mode mode = Mode.FULL;
        private long blockElements = FullAdamStep.CPU_BLOCK_ELEMENTS;
        private StateDType stateDType = StateDType.FP32;
        private boolean fusedCpuStep = true;

        private Builder() {
            super(Tracker.fixed(1e-3f));
        }

        @Override
        protected Builder self() {
            return this;
        }

        /** Also Adam's betas and epsilon, and how full mode stores its moments. */
        @Override
        public Builder optConfig(OptimizerConfig config) {
            super.optConfig(config);
            adam = AdamSettings.of(config);
            return optStateDType(config.stateDType());
        }

        /** Sets Adam's betas (default 0.9, 0.999), each in [0, 1). */
        public Builder optBetas(double beta1, double beta2) {
            adam = adam.withBetas(beta1, beta2);
            return this;
        }

        /** Sets Adam's epsilon (default 1e-8). */
        public Builder optEpsilon(double eps) {
            adam = adam.withEpsilon(eps);
            return this;
        }

        /** Sets the mode (default {@link Mode#FULL}). */
        public Builder optMode(Mode mode) {
            this.mode = java.util.Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Sets the elements per block of the full-mode step on the CPU; package-private, for tests. */
        Builder blockElements(long elements) {
            this.blockElements = elements;
            return this;
        }

        /**
         * Sets how full mode stores its m x n moments (default {@link StateDType#FP32}); {@link
         * StateDType#BF16} halves the state and needs the fused CPU step.
         */
        public Builder optStateDType(StateDType stateDType) {
            this.stateDType = java.util.Objects.requireNonNull(stateDType, "stateDType");
            return this;
        }

        /**
         * Whether full-mode steps of fp32 pairs on the CPU use the fused one-pass kernel (default
         * true); false runs the tensor operations a GPU runs, e.g. to compare the two.
         */
        public Builder optFusedCpuStep(boolean fused) {
            this.fusedCpuStep = fused;
            return this;
        }

        /** Validates and builds the optimizer. */
        public LoraProAdamW build() {
            validate();
            adam.validate();
            InvalidFieldException.require(stateDType == StateDType.FP32 || mode == Mode.FULL && fusedCpuStep,
                    "state_dtype", stateDType.id() + " applies to full mode with the fused CPU step only");
            return new LoraProAdamW(this);
        }
    }
}
