package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.ParameterTracker;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.Finiteness;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link LoraProSgd} and {@link LoraProAdamW} add to a {@link ResumableOptimizer}: the two
 * factors of each registered LoRA layer step jointly, because LoRA-Pro's adjusted gradients of A
 * and B depend on both. Every other trainable parameter takes the plain step of the optimizer.
 *
 * <p>Parameters arrive one {@code update} call at a time, in arbitrary order. The first factor of a
 * pair to arrive has its gradient copied and waits; the joint step runs when the second arrives,
 * also after the next iteration has begun (a pair that starts training mid-run may straddle it). A
 * factor that arrives again before its partner (the partner never comes) is an error. A
 * frozen factor is reported at the pair's first update: LoRA-Pro needs both factors trainable
 * (LoRA-FA style training, A frozen, is refused), while {@link PlainAdamW} steps the trainable one
 * alone.
 *
 * <p>A pair's step skips (t not counted, factors and state untouched) when a factor's gradient
 * was found non-finite by the DJL adapter, or when its result is not finite ({@link
 * #requireFiniteResult}) or too large for the moments ({@link #requireAtMost}), which a step
 * checks before the result touches the moments or the factors. One check can only follow the
 * moment update, that of full mode's Adam direction (a function of the updated moments): failing
 * it leaves the factors untouched and keeps t counted, since the moments took the step.
 */
public abstract class LoraProOptimizer extends ResumableOptimizer {

    private static final Logger LOGGER = LoggerFactory.getLogger(LoraProOptimizer.class);

    private final double delta;
    private final XMode xMode;
    private final Map<String, PairSlot> slotsByParameterId = new HashMap<>();
    /** Parameters outside the registered model, warned about once each. */
    private final Set<String> unregisteredWarned = new HashSet<>();
    private final List<PairSlot> slots = new ArrayList<>();

    LoraProOptimizer(Builder<?> builder) {
        super(builder);
        this.delta = builder.delta;
        this.xMode = builder.xMode;
        for (LoraPair pair : getPairs().values()) {
            PairSlot slot = new PairSlot(pair);
            slots.add(slot);
            slotsByParameterId.put(pair.getLoraA().getId(), slot);
            slotsByParameterId.put(pair.getLoraB().getId(), slot);
        }
    }

    /** The ridge delta added to the r x r Grams. */
    public double getDelta() {
        return delta;
    }

    /** How X is chosen in the adjusted gradients. */
    public XMode getXMode() {
        return xMode;
    }

    /**
     * A pair with one factor in carries it over: where DJL steps a parameter that first arrives in
     * the middle of a run (an adapter unfrozen at step N) is not known, so an iteration may begin
     * between the two factors of its pair. A factor whose partner never comes is refused when it
     * arrives again ({@link PairSlot#arrive}).
     */
    @Override
    void onNewRound() {}

    @Override
    boolean stepsPairsJointly() {
        return true;
    }

    @Override
    Set<String> waitingFactors() {
        Set<String> waiting = new HashSet<>();
        for (PairSlot slot : slots) {
            if (slot.pendingId != null) {
                waiting.add(slot.pendingId);
            }
        }
        return waiting;
    }

    @Override
    void arrive(String parameterId, NDArray weight, NDArray grad, float learningRate, boolean gradientFinite) {
        PairSlot slot = slotsByParameterId.get(parameterId);
        if (slot == null) {
            if (registeredModel() && !hasName(parameterId) && unregisteredWarned.add(parameterId)) {
                // a factor of another model instance, or of adapters injected after addLoraLayers, would
                // otherwise train as plain LoRA without a word
                LOGGER.warn("a parameter of shape {} (id {}) is not in the model given to addLoraLayers: it takes a"
                        + " plain step, not LoRA-Pro's (register the model the trainer runs, after injecting its"
                        + " adapters)", weight.getShape(), parameterId);
            }
            super.arrive(parameterId, weight, grad, learningRate, gradientFinite);
        } else {
            slot.arrive(parameterId, weight, grad, learningRate, gradientFinite);
        }
    }

    /**
     * Throws {@link NonFiniteResult} if any of {@code arrays} holds NaN or infinity. A step calls it
     * on its result before that result touches the factors or the moments; the optimizer then skips
     * the step (counted in {@link #getSkippedSteps()}) and does not count it in t.
     *
     * @param what what the arrays are, for the log
     */
    static void requireFiniteResult(String what, NDList arrays) {
        for (NDArray array : arrays) {
            if (!Finiteness.isAllFinite(array)) {
                throw new NonFiniteResult(what + " is not finite", false);
            }
        }
    }

    /**
     * Throws {@link NonFiniteResult} unless {@code value} (a bound of the largest magnitude of a
     * result) is at most {@code limit}; NaN fails. For a result the moments are about to take,
     * whose square must not overflow them (see {@link AdamMoments#LARGEST_GRADIENT}).
     *
     * @param what what the result is, for the log
     */
    static void requireAtMost(String what, double value, double limit) {
        if (!(value <= limit)) {
            throw new NonFiniteResult(what + (Double.isFinite(value)
                    ? " may reach " + value + ", beyond what the moments hold (" + limit + ")"
                    : " is not finite"), false);
        }
    }

    /** The largest magnitude among {@code arrays}, in double precision; NaN if one holds NaN. */
    static double largestMagnitude(NDList arrays) {
        double largest = 0;
        for (NDArray array : arrays) {
            try (NDArray abs = array.abs();
                    NDArray max = abs.max();
                    NDArray max64 = max.toType(DataType.FLOAT64, false)) {
                largest = Math.max(largest, max64.getDouble());
            }
        }
        return largest;
    }

    /**
     * A step's result (not its gradient) holds NaN or infinity, or would overflow the moments; the
     * factors are not updated.
     */
    static final class NonFiniteResult extends RuntimeException {
        private static final long serialVersionUID = 1L;

        /** Whether the moments had already taken the step (its t then stays counted). */
        final boolean momentsUpdated;

        NonFiniteResult(String message, boolean momentsUpdated) {
            super(message, null, false, false);
            this.momentsUpdated = momentsUpdated;
        }

        /** This failure, found after the moments took the step. */
        NonFiniteResult afterMoments() {
            return new NonFiniteResult(getMessage(), true);
        }
    }

    /**
     * One joint step of a LoRA pair, inside an {@link NDScope} that closes every array created.
     *
     * @param pair the pair
     * @param a A, updated in place
     * @param b B, updated in place
     * @param gradA the LoRA gradient of A (finite)
     * @param gradB the LoRA gradient of B (finite)
     * @param learningRate the learning rate
     * @param step the pair's step t, starting at 1
     * @throws NonFiniteResult if the step's result is not finite, before it touches what it would
     *     spoil (see {@link NonFiniteResult#momentsUpdated})
     */
    abstract void stepPair(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate, int step);

    /** Frees the state arrays and any gradient waiting for its partner. */
    @Override
    public void close() {
        for (PairSlot slot : slots) {
            slot.clear();
        }
        super.close();
    }

    /** The pairing state of one LoRA pair within a step. */
    private final class PairSlot {
        private final LoraPair pair;
        private String pendingId;
        private NDArray pendingWeight;
        private NDArray pendingGrad;
        private boolean pendingFinite;
        private float pendingRate;

        PairSlot(LoraPair pair) {
            this.pair = pair;
        }

        void arrive(String parameterId, NDArray weight, NDArray grad, float learningRate, boolean gradientFinite) {
            Parameter frozen = frozenFactor();
            if (frozen != null) {
                throw new IllegalStateException(
                        "LoRA pair " + pair.getName() + ": " + factorLabel(pair, frozen.getId()) + " is frozen, but"
                                + " LoRA-Pro steps A and B jointly and needs both trainable (training B alone, LoRA-FA"
                                + " style, is not supported); unfreeze it, or train with PlainAdamW");
            }
            if (pendingId == null) {
                pendingId = parameterId;
                pendingWeight = weight;
                pendingFinite = gradientFinite;
                pendingRate = learningRate;
                // DJL closes grad when update returns
                pendingGrad = grad.duplicate();
                NDScope.unregister(pendingGrad);
                return;
            }
            if (pendingId.equals(parameterId)) {
                String missing = factorLabel(pair, parameterId).equals("lora_A") ? "lora_B" : "lora_A";
                clear();
                throw new IllegalStateException("LoRA pair " + pair.getName() + ": "
                        + factorLabel(pair, parameterId) + " got a gradient twice, " + missing + " none in between (is "
                        + missing + " frozen, or not among the parameters this trainer steps?)");
            }
            boolean firstIsA = pendingId.equals(pair.getLoraA().getId());
            NDArray a = firstIsA ? pendingWeight : weight;
            NDArray b = firstIsA ? weight : pendingWeight;
            NDArray gradA = firstIsA ? pendingGrad : grad;
            NDArray gradB = firstIsA ? grad : pendingGrad;
            try {
                requireFactorShapes(a.getShape(), b.getShape());
                if (Float.compare(pendingRate, learningRate) != 0) {
                    // the equivalent gradient s (B gA + gB A) is a step of W only at one rate for both
                    throw new IllegalStateException("LoRA pair " + pair.getName() + ": LoRA-Pro steps A and B jointly"
                            + " at one learning rate, but " + factorLabel(pair, pendingId) + " got " + pendingRate
                            + " and " + factorLabel(pair, parameterId) + " " + learningRate
                            + " (a schedule with a rate per factor, LoRA+ style, is not supported)");
                }
                if (!pendingFinite || !gradientFinite) {
                    skip("LoRA pair " + pair.getName(), NON_FINITE_GRADIENT);
                } else {
                    step(a, b, gradA, gradB, learningRate);
                }
                settle(pair.getLoraA().getId());
                settle(pair.getLoraB().getId());
            } finally {
                clear();
            }
        }

        private void step(NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate) {
            for (NDArray factor : List.of(a, b)) {
                if (factor.getDataType() != DataType.FLOAT32 && factor.getDataType() != DataType.FLOAT64) {
                    // (1/s^2)(B^T B)^-1 is about 1e8 at the B = 0 start: infinite in float16, and every step skipped
                    throw new IllegalStateException("LoRA pair " + pair.getName() + ": its factors are "
                            + factor.getDataType() + ", but LoRA-Pro steps float32 (or float64) factors; keep them in"
                            + " float32 (fp16_frozen, --fp16-frozen, casts the frozen weights only)");
                }
            }
            int step = nextStep(pair.getName());
            try (DeviceScope onDevice = DeviceScope.of(a, b, gradA, gradB)) {
                stepPair(pair, a, b, gradA, gradB, learningRate, step);
            } catch (NonFiniteResult e) {
                if (!e.momentsUpdated) {
                    revertStep(pair.getName());
                }
                skip("LoRA pair " + pair.getName(), "finite gradients, but " + e.getMessage()
                        + (e.momentsUpdated ? "; the moments took the step, the factors did not" : ""));
            } catch (NonFiniteFactorException e) {
                throw new NonFiniteFactorException("LoRA pair " + pair.getName() + ": " + e.getMessage());
            }
        }

        /**
         * Refuses factors that are not A (r x n) and B (m x r) with r <= min(m, n), as {@code
         * LoraLinear} makes them: a pair registered with A and B swapped (square, they even multiply)
         * would otherwise step the wrong matrices, or fail deep in the r x r algebra.
         */
        private void requireFactorShapes(Shape a, Shape b) {
            boolean fits = a.dimension() == 2 && b.dimension() == 2 && a.get(0) == b.get(1)
                    && a.get(0) <= Math.min(a.get(1), b.get(0));
            if (!fits) {
                throw new InvalidInputException("LoRA pair " + pair.getName() + ": lora_A is " + a + " and lora_B "
                        + b + ", but A must be r x n and B m x r, with r <= min(m, n) (are A and B swapped where"
                        + " the pair is registered?)");
            }
        }

        /** The frozen factor of the pair, or {@code null} when both train. */
        private Parameter frozenFactor() {
            if (!pair.getLoraA().requiresGradient()) {
                return pair.getLoraA();
            }
            return pair.getLoraB().requiresGradient() ? null : pair.getLoraB();
        }

        void clear() {
            if (pendingGrad != null) {
                pendingGrad.close();
            }
            pendingId = null;
            pendingWeight = null;
            pendingGrad = null;
        }
    }

    /**
     * Builder options shared by the LoRA-Pro optimizers.
     *
     * @param <T> the concrete builder
     */
    public abstract static class Builder<T extends Builder<T>> extends ResumableOptimizer.Builder<T> {

        private double delta = LoraProMath.DEFAULT_DELTA;
        private XMode xMode = XMode.SYLVESTER;

        Builder(ParameterTracker defaultLearningRate) {
            super(defaultLearningRate);
        }

        /** Sets the ridge delta added to B^T B and A A^T (default 1e-8; must be > 0). */
        public T optDelta(double delta) {
            this.delta = delta;
            return self();
        }

        /** Also how X is chosen. */
        @Override
        public T optConfig(OptimizerConfig config) {
            super.optConfig(config);
            return optXMode(config.xMode());
        }

        /** Sets how X is chosen (default {@link XMode#SYLVESTER}). */
        public T optXMode(XMode xMode) {
            this.xMode = Objects.requireNonNull(xMode, "xMode");
            return self();
        }

        /**
         * {@inheritDoc} Also that delta is positive (the Grams are inverted, and B^T B is 0 at the
         * usual B = 0 start) and that a LoRA layer is registered: without one, every parameter would
         * take a plain SGD or AdamW step, and nothing of LoRA-Pro would run.
         */
        @Override
        void validate() {
            super.validate();
            if (!(delta > 0) || Double.isInfinite(delta)) {
                throw new InvalidFieldException("delta", "must be finite and > 0 (B^T B + delta I is inverted, and"
                        + " B^T B = 0 while B = 0), got " + delta);
            }
            if (pairCount() == 0) {
                throw new IllegalStateException("no LoRA layer is registered with this LoRA-Pro optimizer: call"
                        + " addLoraLayers(model) after the adapters are injected (LoraInjector.inject), or addLoraPair");
            }
        }
    }
}
