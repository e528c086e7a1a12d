package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.Gradients;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * The DJL glue shared by {@link LoraProSgd} and {@link LoraProAdamW}: it pairs the per-parameter
 * {@link #update} calls of a DJL trainer into joint steps on each LoRA pair, updates every other
 * trainable parameter with the plain optimizer, skips non-finite gradients, zeroes gradients, and
 * keeps the optimizer state under stable names.
 *
 * <p>DJL calls {@code update} once per trainable parameter and step, in arbitrary order. The first
 * factor of a pair to arrive has its gradient copied and waits; the joint step runs when the second
 * arrives. A pair that is still waiting when the next step begins (a factor missing) is an error. A
 * frozen factor is reported at the pair's first update: LoRA-Pro needs both factors trainable
 * (LoRA-FA style training, A frozen, is refused), while {@link PlainAdamW} steps the trainable one
 * alone.
 *
 * <p>Several devices: DJL's parameter server calls {@code update} once per device copy of a
 * parameter, each time with the gradient summed over the copies. The first copy takes one step
 * (state and step count live with it); the others receive its new value, so all copies are equal
 * after every step (see {@link DeviceCopies}). The gradient is the sum, as for DJL's own
 * optimizers; {@code optRescaleGrad(1f / devices)} averages it, which makes k devices on k equal
 * splits step exactly like one device on the whole batch when the loss is a mean over each split.
 *
 * <p>Not thread safe: one trainer drives one optimizer. {@link #close()} frees the state arrays.
 */
public abstract class LoraProOptimizer extends Optimizer implements AutoCloseable {

    /** Prefix of the state name of a parameter that {@code addLoraLayers} did not name. */
    static final String UNNAMED_PREFIX = "param.";

    private static final Logger logger = LoggerFactory.getLogger(LoraProOptimizer.class);

    private final ParameterTracker learningRateTracker;
    private final double delta;
    private final OptimizerConfig config;
    private final Map<String, PairSlot> slotsByParameterId = new HashMap<>();
    private final List<PairSlot> slots = new ArrayList<>();
    private final Map<String, LoraPair> pairs;
    private final Map<String, String> parameterNames;

    private final Map<String, Integer> arrivals = new HashMap<>();
    private int round;
    private long skippedSteps;

    private final StateStore state = new StateStore();
    private final DeviceCopies copies = new DeviceCopies();

    LoraProOptimizer(Builder<?> builder) {
        super(builder);
        this.learningRateTracker = builder.learningRateTracker;
        this.delta = builder.delta;
        this.config = builder.config;
        this.pairs = new LinkedHashMap<>(builder.pairs);
        this.parameterNames = new HashMap<>(builder.parameterNames);
        for (LoraPair pair : pairs.values()) {
            PairSlot slot = new PairSlot(pair);
            slots.add(slot);
            for (Parameter p : List.of(pair.getLoraA(), pair.getLoraB())) {
                if (slotsByParameterId.put(p.getId(), slot) != null) {
                    throw new IllegalArgumentException(
                            "parameter " + p.getName() + " belongs to more than one LoRA pair (" + pair.getName() + ")");
                }
            }
        }
    }

    /** The LoRA pairs this optimizer steps jointly, by name. */
    public Map<String, LoraPair> getPairs() {
        return java.util.Collections.unmodifiableMap(pairs);
    }

    /** The ridge delta added to the r x r Grams. */
    public double getDelta() {
        return delta;
    }

    /** The hyper-parameters: betas, epsilon, weight decay, X mode, moment storage. */
    public OptimizerConfig getConfig() {
        return config;
    }

    /** How X is chosen in the adjusted gradients. */
    public XMode getXMode() {
        return config.xMode();
    }

    /** The decoupled weight decay wd: w ← w - lr (update + wd w). */
    @Override
    public float getWeightDecay() {
        return config.weightDecay();
    }

    /**
     * How many pair or parameter updates were skipped because their gradient held NaN or infinity.
     */
    public long getSkippedSteps() {
        return skippedSteps;
    }

    /**
     * DJL's entry point, a thin adapter for users who drive this optimizer from their own {@code
     * Trainer}: takes the learning rate from the tracker at this parameter's update count, steps,
     * and zeroes the gradient.
     */
    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        try {
            if (copies.isFurtherCopy(parameterId, weight)) {
                // another device's copy of a parameter (DJL's parameter server calls once per copy): it takes
                // the first copy's new value, and DJL's update count advances once per iteration
                copies.follow(parameterId, weight);
                return;
            }
            update(parameterId, weight, grad, learningRateTracker.getNewValue(parameterId, updateCount(parameterId)));
        } finally {
            Gradients.zero(weight);
        }
    }

    /**
     * Steps one parameter at a learning rate the caller computed (the training engine computes it
     * once per global step). A LoRA factor waits for its partner. The gradient is left as it is.
     *
     * @param parameterId the parameter's id
     * @param weight the parameter, updated in place
     * @param grad its gradient
     * @param learningRate the learning rate of this step
     */
    public void update(String parameterId, NDArray weight, NDArray grad, float learningRate) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            if (!Float.isFinite(learningRate)) {
                throw new IllegalStateException("learning rate is " + learningRate + " for " + parameterId);
            }
            beginRoundIfNew(parameterId);
            PairSlot slot = slotsByParameterId.get(parameterId);
            NDArray gradient = preprocess(grad);
            if (slot == null) {
                try (DeviceScope onDevice = DeviceScope.of(weight, gradient)) {
                    updateParameter(parameterId, weight, gradient, learningRate);
                }
                copies.settle(parameterId);
            } else {
                slot.arrive(parameterId, weight, gradient, learningRate);
            }
        }
    }

    private void beginRoundIfNew(String parameterId) {
        int seen = arrivals.merge(parameterId, 1, Integer::sum);
        if (seen > round) {
            copies.clearWaiting();
            for (PairSlot slot : slots) {
                slot.checkComplete();
            }
            round = seen;
        }
    }

    /** Applies the builder's gradient rescaling and clipping; may return {@code grad} itself. */
    private NDArray preprocess(NDArray grad) {
        NDArray g = grad;
        if (rescaleGrad != 1f) {
            g = g.mul(rescaleGrad);
        }
        if (clipGrad > 0) {
            g = g.clip(-clipGrad, clipGrad);
        }
        return g;
    }

    private void updateParameter(String parameterId, NDArray weight, NDArray grad, float learningRate) {
        String name = parameterNames.getOrDefault(parameterId, UNNAMED_PREFIX + parameterId);
        if (!allFinite(grad)) {
            skip("parameter " + name);
            return;
        }
        int step = state.nextStep(name);
        stepParameter(name, weight, grad, learningRate, step);
    }

    private void skip(String what) {
        skippedSteps++;
        logger.warn("Skipping the update of {}: its gradient holds NaN or infinity ({} skipped so far)", what, skippedSteps);
    }

    /** Whether every element of {@code array} is finite; a finite sum proves it cheaply. */
    static boolean allFinite(NDArray array) {
        try (NDArray sum = array.sum()) {
            if (Double.isFinite(sum.toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble())) {
                return true;
            }
        }
        // an overflowing sum of finite values also lands here
        try (NDArray nan = array.isNaN();
                NDArray inf = array.isInfinite();
                NDArray bad = nan.logicalOr(inf);
                NDArray any = bad.any()) {
            return !any.getBoolean();
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
            if (!allFinite(array)) {
                throw new NonFiniteResult(what + " is not finite");
            }
        }
    }

    /** A step's result (not its gradient) holds NaN or infinity; the step is skipped. */
    static final class NonFiniteResult extends RuntimeException {
        private static final long serialVersionUID = 1L;

        NonFiniteResult(String message) {
            super(message, null, false, false);
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
     */
    abstract void stepPair(LoraPair pair, NDArray a, NDArray b, NDArray gradA, NDArray gradB, float learningRate, int step);

    /**
     * Whether the factors of a pair may step one at a time, so that a pair with a frozen factor
     * trains the other (true for optimizers that do not couple A and B).
     */
    boolean stepsFactorsAlone() {
        return false;
    }

    /**
     * One plain step of a non-LoRA parameter, inside an {@link NDScope}.
     *
     * @param name the parameter's stable name
     * @param weight the parameter, updated in place
     * @param grad its gradient (finite; not to be modified)
     * @param learningRate the learning rate
     * @param step the parameter's step t, starting at 1
     */
    abstract void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step);

    /**
     * The state array {@code key}, created as zeros shaped like {@code like} on its device, or from
     * an imported state, on first use. It outlives the step's scope.
     */
    final NDArray state(String key, NDArray like) {
        return state.array(key, like.getShape(), like);
    }

    /**
     * The state array {@code key} of {@code shape}, created as zeros of {@code like}'s type on its
     * device, or from an imported state, on first use. It outlives the step's scope.
     */
    final NDArray state(String key, ai.djl.ndarray.types.Shape shape, NDArray like) {
        return state.array(key, shape, like);
    }

    /**
     * The bf16 moment {@code key} of {@code shape}, held as bit patterns in a CPU array (see {@link
     * StateStore#packedBf16Array}); {@code variance} marks a second moment.
     */
    final NDArray packedBf16State(String key, ai.djl.ndarray.types.Shape shape, NDArray like, boolean variance) {
        return state.packedBf16Array(key, shape, like, variance);
    }

    /** The bytes held by the optimizer state (moments), excluding gradients waiting for their partner. */
    public long stateBytes() {
        return state.bytes();
    }

    /**
     * Copies the state into arrays attached to {@code manager}: moments by name ({@code
     * <pair>.exp_avg} and {@code <pair>.exp_avg_sq} in full mode, {@code
     * <pair>.lora_A.weight.exp_avg} etc. in efficient mode, {@code <parameter>.exp_avg} for plain
     * parameters), step counts by pair or parameter name, and DJL's own update counters (which
     * drive a {@code Tracker} schedule) under {@code djl.update_count:<parameter>} and {@code
     * djl.num_update}.
     *
     * @throws IllegalStateException if a parameter with state has no stable name (one neither
     *     {@code addLoraLayers} nor {@code nameParameter} registered): its id changes in every
     *     process, so the state could never be imported again
     */
    public OptimizerState exportState(NDManager manager) {
        Map<String, Integer> counters = DjlUpdateCounters.export(this, stableNames());
        return withCounters(state.export(manager), counters, true);
    }

    /** {@code exported} with DJL's counters among its step counts, after checking every entry has a stable name. */
    private OptimizerState withCounters(OptimizerState exported, Map<String, Integer> counters, boolean owned) {
        List<String> unnamed = new ArrayList<>();
        for (String name : exported.getSteps().keySet()) {
            if (name.startsWith(UNNAMED_PREFIX)) {
                unnamed.add(name.substring(UNNAMED_PREFIX.length()));
            }
        }
        if (!unnamed.isEmpty()) {
            if (owned) {
                exported.getTensors().values().forEach(NDArray::close);
            }
            throw new IllegalStateException("the optimizer state of parameter(s) " + unnamed + " cannot be"
                    + " saved: they have no stable name, and their ids change in every process (register the"
                    + " model with addLoraLayers(root), or name them with nameParameter)");
        }
        Map<String, Integer> steps = new LinkedHashMap<>(exported.getSteps());
        steps.putAll(counters);
        return new OptimizerState(exported.getTensors(), steps);
    }

    /** Stable names by parameter id: the registered names, and pair.lora_A/B.weight for factors. */
    private Map<String, String> stableNames() {
        Map<String, String> names = new HashMap<>(parameterNames);
        for (LoraPair pair : pairs.values()) {
            names.putIfAbsent(pair.getLoraA().getId(), pair.getName() + ".lora_A.weight");
            names.putIfAbsent(pair.getLoraB().getId(), pair.getName() + ".lora_B.weight");
        }
        return names;
    }

    /**
     * The moments stored as bf16 ({@code --state-dtype bf16}), which {@link #viewState} leaves out,
     * each as its float32 shape and a maker of its float32 copy on {@code manager} (the caller closes
     * each copy): a checkpoint writes them one at a time, in the format of float32 state.
     */
    public Map<String, Map.Entry<ai.djl.ndarray.types.Shape, java.util.function.Supplier<NDArray>>> packedStateAsFloat32(
            NDManager manager) {
        return state.packedAsFloat32(manager);
    }

    /**
     * The state arrays themselves with the step counts, named as by {@link #exportState}, without
     * copying them: for writing a checkpoint of a large state. Moments stored as bf16 ({@code
     * --state-dtype bf16}) are left out: {@link #packedStateAsFloat32} makes them one at a time. The
     * arrays stay the optimizer's (do not close or modify them), and the view is valid only until the
     * next update or import.
     */
    public OptimizerState viewState() {
        Map<String, Integer> counters = DjlUpdateCounters.export(this, stableNames());
        return withCounters(state.view(), counters, false);
    }

    /**
     * Replaces the state with a copy of {@code saved} (e.g. from {@link #exportState} in an earlier
     * process). Arrays are copied, so the caller may close its own; they move to the weights' device
     * when first used.
     *
     * @throws InvalidInputException if the state names a pair or parameter this optimizer does not
     *     know (an entry that would match nothing), or an array has no step count
     */
    public void importState(OptimizerState saved) {
        importState(saved.getSteps(), saved.getTensors().keySet(), key -> saved.getTensors().get(key).duplicate());
    }

    /**
     * Replaces the state with arrays read one at a time (e.g. from a checkpoint file), so that a
     * large state is never held twice: each array {@code reader} returns is taken over, not
     * copied, and moves to the weights' device when first used.
     *
     * @param steps the step count of every pair or parameter, by name
     * @param keys the names of the state arrays, as {@link #exportState} names them
     * @param reader makes the array of a name
     * @throws InvalidInputException if the state names a pair or parameter this optimizer does not
     *     know, or an array has no step count
     */
    public void importState(Map<String, Integer> steps, Collection<String> keys, Function<String, NDArray> reader) {
        Map<String, Integer> stateSteps = new LinkedHashMap<>();
        Map<String, Integer> counters = new HashMap<>();
        steps.forEach((k, v) -> (DjlUpdateCounters.isCounter(k) ? counters : stateSteps).put(k, v));
        state.load(stateSteps, keys, reader, knownNames());
        DjlUpdateCounters.restore(this, counters, stableNames());
    }

    private Set<String> knownNames() {
        Set<String> known = new HashSet<>(pairs.keySet());
        known.addAll(parameterNames.values());
        return known;
    }

    /** Frees the state arrays and any gradient waiting for its partner. */
    @Override
    public void close() {
        for (PairSlot slot : slots) {
            slot.clear();
        }
        state.close();
    }

    /** The pairing state of one LoRA pair within a step. */
    private final class PairSlot {
        private final LoraPair pair;
        private String pendingId;
        private NDArray pendingWeight;
        private NDArray pendingGrad;

        PairSlot(LoraPair pair) {
            this.pair = pair;
        }

        void arrive(String parameterId, NDArray weight, NDArray grad, float learningRate) {
            Parameter frozen = frozenFactor();
            if (frozen != null) {
                stepFactorAlone(frozen, parameterId, weight, grad, learningRate);
                return;
            }
            if (pendingId == null) {
                pendingId = parameterId;
                pendingWeight = weight;
                // DJL closes grad when update returns
                pendingGrad = grad.duplicate();
                NDScope.unregister(pendingGrad);
                return;
            }
            if (pendingId.equals(parameterId)) {
                throw new IllegalStateException(
                        "LoRA pair " + pair.getName() + ": " + label(parameterId) + " was updated twice before its partner");
            }
            boolean firstIsA = pendingId.equals(pair.getLoraA().getId());
            NDArray a = firstIsA ? pendingWeight : weight;
            NDArray b = firstIsA ? weight : pendingWeight;
            NDArray gradA = firstIsA ? pendingGrad : grad;
            NDArray gradB = firstIsA ? grad : pendingGrad;
            try {
                if (!allFinite(gradA) || !allFinite(gradB)) {
                    skip("LoRA pair " + pair.getName());
                    return;
                }
                int step = state.nextStep(pair.getName());
                try (DeviceScope onDevice = DeviceScope.of(a, b, gradA, gradB)) {
                    stepPair(pair, a, b, gradA, gradB, learningRate, step);
                } catch (NonFiniteResult e) {
                    state.revertStep(pair.getName());
                    skip("LoRA pair " + pair.getName() + " (finite gradients, but " + e.getMessage() + ")");
                } catch (NonFiniteFactorException e) {
                    throw new NonFiniteFactorException("LoRA pair " + pair.getName() + ": " + e.getMessage());
                }
                copies.settle(pair.getLoraA().getId());
                copies.settle(pair.getLoraB().getId());
            } finally {
                clear();
            }
        }

        /** The frozen factor of the pair, or {@code null} when both train. */
        private Parameter frozenFactor() {
            if (!pair.getLoraA().requiresGradient()) {
                return pair.getLoraA();
            }
            return pair.getLoraB().requiresGradient() ? null : pair.getLoraB();
        }

        private void stepFactorAlone(Parameter frozen, String parameterId, NDArray weight, NDArray grad, float lr) {
            if (!stepsFactorsAlone()) {
                throw new IllegalStateException(
                        "LoRA pair " + pair.getName() + ": " + label(frozen.getId()) + " is frozen, but LoRA-Pro"
                                + " steps A and B jointly and needs both trainable (training B alone, LoRA-FA"
                                + " style, is not supported); unfreeze it, or train with PlainAdamW");
            }
            if (!allFinite(grad)) {
                skip("LoRA pair " + pair.getName());
            } else {
                int step = state.nextStep(pair.getName());
                try (DeviceScope onDevice = DeviceScope.of(weight, grad)) {
                    stepParameter(pair.getName() + "." + label(parameterId) + ".weight", weight, grad, lr, step);
                }
            }
            copies.settle(parameterId);
        }

        void checkComplete() {
            if (pendingId != null) {
                String missing = pendingId.equals(pair.getLoraA().getId()) ? "lora_B" : "lora_A";
                String waiting = label(pendingId);
                clear();
                throw new IllegalStateException(
                        "LoRA pair "
                                + pair.getName()
                                + ": "
                                + waiting
                                + " got a gradient but "
                                + missing
                                + " did not in the same step (is one factor frozen?)");
            }
        }

        private String label(String parameterId) {
            return parameterId.equals(pair.getLoraA().getId()) ? "lora_A" : "lora_B";
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
    public abstract static class Builder<T extends Builder<T>> extends OptimizerBuilder<T> {

        private ParameterTracker learningRateTracker;
        private double delta = LoraProMath.DEFAULT_DELTA;
        /** The hyper-parameters; each {@code opt} setter replaces one of them. */
        OptimizerConfig config = OptimizerConfig.DEFAULTS;
        private final Map<String, LoraPair> pairs = new LinkedHashMap<>();
        private final Map<String, String> parameterNames = new HashMap<>();

        Builder(ParameterTracker defaultLearningRate) {
            this.learningRateTracker = defaultLearningRate;
        }

        /** Sets the learning rate schedule. */
        public T setLearningRateTracker(Tracker learningRateTracker) {
            this.learningRateTracker = Objects.requireNonNull(learningRateTracker, "learningRateTracker");
            return self();
        }

        /** Sets a per-parameter learning rate schedule. */
        public T setLearningRateTracker(ParameterTracker learningRateTracker) {
            this.learningRateTracker = Objects.requireNonNull(learningRateTracker, "learningRateTracker");
            return self();
        }

        /**
         * Sets every hyper-parameter at once (default {@link OptimizerConfig#DEFAULTS}); the
         * optimizer uses those its algorithm has.
         */
        public T optConfig(OptimizerConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return optWeightDecays(config.weightDecay());
        }

        /** Sets the decoupled weight decay wd (default 0): w ← w - lr (update + wd w). */
        public T optWeightDecay(float weightDecay) {
            return optConfig(config.withWeightDecay(weightDecay));
        }

        /** Sets the ridge delta added to B^T B and A A^T (default 1e-8). */
        public T optDelta(double delta) {
            this.delta = delta;
            return self();
        }

        /** Sets how X is chosen (default {@link XMode#SYLVESTER}). */
        public T optXMode(XMode xMode) {
            return optConfig(config.withXMode(xMode));
        }

        /**
         * Registers every adapted {@link ai.lorapro.lora.LoraLinear} under {@code root} as a pair
         * named by its module path, and names the other parameters under {@code root} for the
         * optimizer state.
         */
        public T addLoraLayers(Block root) {
            Map<String, LoraPair> found = new LinkedHashMap<>();
            LoraPairs.collect(root, found, parameterNames);
            found.values().forEach(this::addLoraPair);
            return self();
        }

        /**
         * Names {@code parameter} {@code name} in the optimizer state, for a parameter that {@code
         * addLoraLayers} does not reach; only named parameters' state can be exported.
         */
        public T nameParameter(String name, Parameter parameter) {
            parameterNames.put(parameter.getId(), Objects.requireNonNull(name, "name"));
            return self();
        }

        /** Registers one pair W = W0 + s B A, named {@code name} in the optimizer state. */
        public T addLoraPair(String name, Parameter loraA, Parameter loraB, float scaling) {
            return addLoraPair(new LoraPair(name, loraA, loraB, scaling));
        }

        /** Registers one pair, named {@code pair<index>} in the optimizer state. */
        public T addLoraPair(Parameter loraA, Parameter loraB, float scaling) {
            return addLoraPair("pair" + pairs.size(), loraA, loraB, scaling);
        }

        /** Registers one pair. */
        public T addLoraPair(LoraPair pair) {
            LoraPair previous = pairs.get(pair.getName());
            if (previous != null) {
                if (previous.getLoraA().getId().equals(pair.getLoraA().getId())
                        && previous.getLoraB().getId().equals(pair.getLoraB().getId())) {
                    return self();
                }
                throw new IllegalArgumentException("two LoRA pairs are named " + pair.getName());
            }
            pairs.put(pair.getName(), pair);
            return self();
        }

        void validate() {
            if (learningRateTracker == null) {
                throw new IllegalArgumentException("a learning rate tracker is required");
            }
            if (!(delta >= 0) || Double.isInfinite(delta)) {
                throw new IllegalArgumentException("delta must be finite and >= 0, got " + delta);
            }
        }
    }
}
