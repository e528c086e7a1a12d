package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.FixedPerVarTracker;
import ai.djl.training.tracker.ParameterTracker;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.Finiteness;
import ai.lorapro.nn.Gradients;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * What every optimizer of this library shares, LoRA-Pro or not ({@link PlainAdamW}, {@link
 * LoraProSgd}, {@link LoraProAdamW}): state kept under stable names so that it can be saved and
 * resumed in another process, one step count t per parameter (or per LoRA layer), two ways to be
 * driven, and skipping of non-finite gradients.
 *
 * <p>Two entry points:
 *
 * <ul>
 *   <li>{@link #update(String, NDArray, NDArray, float)}: a training loop that computes the learning
 *       rate itself and has checked the whole step's gradients for finiteness (the training
 *       engine) steps each parameter at that rate; the gradient is left as it is.
 *   <li>{@link #update(String, NDArray, NDArray)}: DJL's entry point, a thin adapter for users who
 *       drive the optimizer from their own {@code Trainer}: it takes the rate from the tracker,
 *       skips a parameter whose gradient holds NaN or infinity (one device sync per parameter, paid
 *       on this path only), keeps the device copies of a parameter equal ({@link DeviceCopies}) and
 *       zeroes the gradient.
 * </ul>
 *
 * <p>Names: {@code addLoraLayers} names every parameter by its module path and registers each LoRA
 * layer's factors under the layer's name: their state is {@code <layer>.lora_A.weight.exp_avg}
 * and so on, and they share the layer's step count. A step count advances at most once per
 * iteration (a round in which every parameter arrives once), so the two factors of a layer take
 * the same t whether they step jointly (LoRA-Pro) or one by one.
 *
 * <p>Several devices: DJL's parameter server calls {@code update} once per device copy of a
 * parameter, each time with the gradient summed over the copies. The first copy takes one step
 * (state and step count live with it); the others receive its new value, so all copies are equal
 * after every step (see {@link DeviceCopies}). The gradient is the sum, as for DJL's own
 * optimizers; {@code setRescaleGrad(1f / devices)} averages it, which makes k devices on k equal
 * splits step exactly like one device on the whole batch when the loss is a mean over each split.
 *
 * <p>Not thread safe: one trainer drives one optimizer. {@link #close()} frees the state arrays.
 */
public abstract class ResumableOptimizer extends Optimizer implements AutoCloseable {

    /** Prefix of the state name of a parameter that no registration named. */
    static final String UNNAMED_PREFIX = "param.";

    /** Why an update is skipped when its gradient holds NaN or infinity (for the log). */
    static final String NON_FINITE_GRADIENT = "its gradient holds NaN or infinity";

    private static final Logger logger = LoggerFactory.getLogger(ResumableOptimizer.class);

    private final ParameterTracker learningRateTracker;
    /** The registered LoRA layers, by name. */
    private final Map<String, LoraPair> pairs;
    /** The layer of each LoRA factor, by the factor's parameter id. */
    private final Map<String, LoraPair> pairOfFactor = new HashMap<>();
    private final Map<String, String> parameterNames;
    /** Set by {@link #close()}. */
    private volatile boolean closed;
    private final boolean registeredModel;
    /** The named parameters themselves, by id (for their shapes when a state is imported). */
    private final Map<String, Parameter> namedParameters;

    private final Map<String, Integer> arrivals = new HashMap<>();
    private int round;
    /** The round in which each step count last advanced. */
    private final Map<String, Integer> countedInRound = new HashMap<>();
    private long skippedSteps;

    private final StateStore state = new StateStore();
    private final DeviceCopies copies = new DeviceCopies();
    private final DjlUpdateCounters updateCounters;

    /** DJL's class behind {@code Tracker.fixed}, which is not public. */
    private static final String FIXED_TRACKER = "ai.djl.training.tracker.FixedTracker";

    ResumableOptimizer(Builder<?> builder) {
        super(builder);
        this.learningRateTracker = builder.learningRateTracker;
        this.updateCounters = new DjlUpdateCounters(builder.beginNumUpdate);
        this.pairs = new LinkedHashMap<>(builder.pairs);
        this.parameterNames = new HashMap<>(builder.parameterNames);
        this.registeredModel = builder.registeredModel;
        this.namedParameters = new HashMap<>(builder.namedParameters);
        float weightDecay = getWeightDecay();
        InvalidFieldException.require(weightDecay >= 0 && !Float.isInfinite(weightDecay), "weight_decay",
                "must be finite and >= 0, got " + weightDecay);
        // a negative factor would climb the loss, and NaN would skip every step for good
        InvalidFieldException.require(rescaleGrad > 0 && Float.isFinite(rescaleGrad), "rescale_grad",
                "must be finite and > 0, got " + rescaleGrad);
        for (LoraPair pair : pairs.values()) {
            for (Parameter p : List.of(pair.getLoraA(), pair.getLoraB())) {
                if (pairOfFactor.put(p.getId(), pair) != null) {
                    throw new IllegalArgumentException(
                            "parameter " + p.getName() + " belongs to more than one LoRA pair (" + pair.getName() + ")");
                }
            }
        }
        requireDistinctNames();
        // the count DJL's update hands the tracker at a parameter's first update
        requireFirstRatesUsable(builder.beginNumUpdate + 1);
    }

    /**
     * Refuses two parameters under one name, and a plain parameter under a LoRA pair's name: the
     * state is kept by name, so they would share their moments and their step count, silently.
     */
    private void requireDistinctNames() {
        Map<String, String> idByName = new HashMap<>();
        for (Map.Entry<String, String> e : stableNames().entrySet()) {
            String name = e.getValue();
            if (idByName.put(name, e.getKey()) != null) {
                throw new IllegalArgumentException("two parameters are named '" + name + "' in the optimizer state:"
                        + " they would share one state and one step count; give each a name of its own");
            }
            if (!pairOfFactor.containsKey(e.getKey()) && pairs.containsKey(name)) {
                throw new IllegalArgumentException("parameter '" + name + "' has the name of a LoRA pair: they would"
                        + " share one step count; give it another name");
            }
        }
    }

    /**
     * Refuses, when the optimizer is built, a fixed learning rate that is NaN, infinite or negative
     * ({@code Tracker.fixed(Float.NaN)}), which would otherwise fail only inside the first step. Only
     * DJL's fixed schedules are asked here: a schedule of the user's own is not called before the
     * first update (it may count its calls); every rate is checked at each step.
     */
    private void requireFirstRatesUsable(int firstUpdate) {
        if (learningRateTracker instanceof Tracker plain && FIXED_TRACKER.equals(plain.getClass().getName())) {
            requireUsableRate(plain.getNewValue(firstUpdate), "every parameter");
        } else if (learningRateTracker instanceof FixedPerVarTracker perParameter) {
            Set<String> ids = new LinkedHashSet<>(pairOfFactor.keySet());
            ids.addAll(parameterNames.keySet());
            for (String id : ids) {
                requireUsableRate(perParameter.getNewValue(id, firstUpdate), id);
            }
            if (stepsPairsJointly()) {
                for (LoraPair pair : pairs.values()) {
                    float a = perParameter.getNewValue(pair.getLoraA().getId(), firstUpdate);
                    float b = perParameter.getNewValue(pair.getLoraB().getId(), firstUpdate);
                    if (Float.compare(a, b) != 0) {
                        throw new InvalidFieldException("learning_rate", "LoRA pair " + pair.getName() + ": lora_A at "
                                + a + " and lora_B at " + b + ", but LoRA-Pro steps A and B jointly at one rate (a rate"
                                + " per factor, LoRA+ style, is not supported)");
                    }
                }
            }
        }
    }

    /**
     * Whether the two factors of a pair take one step together, at one learning rate (LoRA-Pro),
     * rather than a step each.
     */
    boolean stepsPairsJointly() {
        return false;
    }

    /** Throws naming {@code learning_rate} unless {@code rate} is finite and >= 0. */
    private void requireUsableRate(float rate, String parameterId) {
        // a negative rate would climb the loss, silently
        if (!Float.isFinite(rate) || rate < 0) {
            throw new InvalidFieldException("learning_rate", "must be finite and >= 0, but the schedule gives " + rate
                    + " for " + stableNames().getOrDefault(parameterId, parameterId));
        }
    }

    /** The registered LoRA layers, by name. */
    public Map<String, LoraPair> getPairs() {
        return Collections.unmodifiableMap(pairs);
    }

    /** The decoupled weight decay wd: w ← w - lr (update + wd w). */
    @Override
    public float getWeightDecay() {
        return super.getWeightDecay();
    }

    /**
     * How many pair or parameter updates were skipped because their gradient held NaN or infinity
     * (on the DJL {@code update} path) or their step's result did.
     */
    public long getSkippedSteps() {
        return skippedSteps;
    }

    /**
     * DJL's entry point, a thin adapter for users who drive this optimizer from their own {@code
     * Trainer}: takes the learning rate from the tracker at this parameter's update count, skips a
     * non-finite gradient, steps, and zeroes the gradient.
     */
    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        requireOpen();
        try {
            if (copies.isFurtherCopy(parameterId, weight)) {
                // another device's copy of a parameter (DJL's parameter server calls once per copy): it takes
                // the first copy's new value, and DJL's update count advances once per iteration
                copies.follow(parameterId, weight);
                return;
            }
            step(parameterId, weight, grad, learningRateTracker.getNewValue(parameterId, updateCount(parameterId)),
                    true);
        } finally {
            Gradients.zero(weight);
        }
    }

    /**
     * DJL's per-parameter update count, which {@link #update(String, NDArray, NDArray)} hands to the
     * learning-rate tracker: kept by this optimizer (with DJL's rule) so that it is saved and
     * restored with the state.
     */
    @Override
    protected int updateCount(String parameterId) {
        return updateCounters.next(parameterId);
    }

    /**
     * Steps one parameter at a learning rate the caller computed (the training engine computes it
     * once per global step). The caller has checked the gradients for NaN and infinity (the engine
     * skips a whole step that holds any); the step's own result is still checked before it is
     * written. A LoRA factor of a LoRA-Pro optimizer waits for its partner. The gradient is left as
     * it is.
     *
     * @param parameterId the parameter's id
     * @param weight the parameter, updated in place
     * @param grad its gradient, finite
     * @param learningRate the learning rate of this step, finite and >= 0
     * @throws InvalidFieldException naming {@code learning_rate} for a rate that is not
     */
    public void update(String parameterId, NDArray weight, NDArray grad, float learningRate) {
        step(parameterId, weight, grad, learningRate, false);
    }

    private void step(String parameterId, NDArray weight, NDArray grad, float learningRate, boolean checkGradient) {
        requireOpen();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            requireUsableRate(learningRate, parameterId);
            beginRoundIfNew(parameterId);
            // checked after rescaling (which can overflow) and before clipping (which would turn an
            // infinity into a full-size finite step)
            NDArray rescaled = rescaleGrad != 1f ? grad.mul(rescaleGrad) : grad;
            boolean finite = !checkGradient || Finiteness.isAllFinite(rescaled);
            arrive(parameterId, weight, clipGrad > 0 ? rescaled.clip(-clipGrad, clipGrad) : rescaled, learningRate,
                    finite);
        }
    }

    private void beginRoundIfNew(String parameterId) {
        int seen = arrivals.merge(parameterId, 1, Integer::sum);
        if (seen > round) {
            round = seen;
            onNewRound();
            copies.clearWaitingExcept(waitingFactors());
        }
    }

    /** Called when a new iteration begins, before its first parameter steps. */
    void onNewRound() {}

    /**
     * The parameters whose step waits for a partner across the start of an iteration (LoRA-Pro: a
     * factor whose partner has not arrived yet); their device copies keep waiting too.
     */
    Set<String> waitingFactors() {
        return Set.of();
    }

    /**
     * One parameter's gradient has arrived: steps it on its own. LoRA-Pro optimizers override this
     * to step the two factors of a layer jointly.
     *
     * @param gradientFinite false if the DJL adapter found NaN or infinity in the gradient
     */
    void arrive(String parameterId, NDArray weight, NDArray grad, float learningRate, boolean gradientFinite) {
        LoraPair pair = pairOfFactor.get(parameterId);
        String name = pair == null
                ? parameterNames.getOrDefault(parameterId, UNNAMED_PREFIX + parameterId)
                : pair.getName() + "." + factorLabel(pair, parameterId) + ".weight";
        if (!gradientFinite) {
            skip("parameter " + name, NON_FINITE_GRADIENT);
        } else {
            int step = nextStep(pair == null ? name : pair.getName());
            try (DeviceScope onDevice = DeviceScope.of(weight, grad)) {
                stepParameter(name, weight, grad, learningRate, step);
            }
        }
        settle(parameterId);
    }

    /** {@code lora_A} or {@code lora_B}: which factor of {@code pair} the parameter is. */
    static String factorLabel(LoraPair pair, String parameterId) {
        return parameterId.equals(pair.getLoraA().getId()) ? "lora_A" : "lora_B";
    }

    /**
     * One plain step of a parameter (or of one LoRA factor on its own), inside an {@link NDScope}.
     *
     * @param name the parameter's stable name
     * @param weight the parameter, updated in place
     * @param grad its gradient (finite; not to be modified)
     * @param learningRate the learning rate
     * @param step the parameter's step t, starting at 1
     */
    abstract void stepParameter(String name, NDArray weight, NDArray grad, float learningRate, int step);

    /**
     * Counts one more step under {@code key} and returns t (the first is 1); within one iteration
     * every call returns the same t, so the factors of a LoRA layer share it.
     */
    final int nextStep(String key) {
        Integer counted = countedInRound.put(key, round);
        return counted != null && counted == round ? state.step(key) : state.nextStep(key);
    }

    /** Takes back the step {@link #nextStep} just counted under {@code key} (the step was skipped). */
    final void revertStep(String key) {
        countedInRound.remove(key);
        state.revertStep(key);
    }

    /** Counts and logs a skipped update of {@code what}, for the reason {@code why}. */
    final void skip(String what, String why) {
        skippedSteps++;
        logger.warn("Skipping the update of {}: {} ({} skipped so far)", what, why, skippedSteps);
    }

    /** The parameter holds this iteration's value: its other device copies take it. */
    final void settle(String parameterId) {
        copies.settle(parameterId);
    }

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
    final NDArray state(String key, Shape shape, NDArray like) {
        return state.array(key, shape, like);
    }

    /**
     * The bf16 moment {@code key} of {@code shape}, held as bit patterns in a CPU array (see {@link
     * StateStore#packedBf16Array}); {@code variance} marks a second moment.
     */
    final NDArray packedBf16State(String key, Shape shape, NDArray like, boolean variance) {
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
        requireOpen();
        Map<String, Integer> counters = updateCounters.export(stableNames());
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

    /** Whether the parameter has a name: it belongs to the registered model, or was named. */
    boolean hasName(String parameterId) {
        return parameterNames.containsKey(parameterId);
    }

    /** Whether a model was registered with {@code addLoraLayers}, which names all its parameters. */
    boolean registeredModel() {
        return registeredModel;
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
     * What kind of state this optimizer keeps, recorded with a saved state so that another kind's is
     * refused on restore even where the arrays' names and shapes agree (an efficient-mode LoRA-Pro
     * AdamW and a plain AdamW keep arrays of the same names and shapes, holding different moments):
     * the class, and the mode where one class keeps two kinds. The state's dtype (fp32 or bf16
     * moments) is not part of it: a saved state is float32 either way. A constant of each class, not
     * its runtime name, so that renaming or shrinking the classes keeps old files readable.
     */
    public abstract String stateKind();

    /**
     * The moments stored as bf16 ({@code --state-dtype bf16}), which {@link #viewState} leaves out,
     * each as its float32 shape and a maker of its float32 copy (the caller closes each copy): a
     * checkpoint writes them one at a time, in the format of float32 state.
     */
    public Map<String, Map.Entry<Shape, Supplier<NDArray>>> packedStateAsFloat32() {
        requireOpen();
        return state.packedAsFloat32();
    }

    /**
     * The state arrays themselves with the step counts, named as by {@link #exportState}, without
     * copying them: for writing a checkpoint of a large state. Moments stored as bf16 ({@code
     * --state-dtype bf16}) are left out: {@link #packedStateAsFloat32} makes them one at a time. The
     * arrays stay the optimizer's (do not close or modify them), and the view is valid only until the
     * next update or import.
     */
    public OptimizerState viewState() {
        requireOpen();
        Map<String, Integer> counters = updateCounters.export(stableNames());
        return withCounters(state.view(), counters, false);
    }

    /**
     * Replaces the state with a copy of {@code saved} (e.g. from {@link #exportState} in an earlier
     * process). Arrays are copied, so the caller may close its own; they move to the weights' device
     * when first used.
     *
     * @throws InvalidInputException if the state names a pair or parameter this optimizer does not
     *     know (an entry that would match nothing), an array has no step count, or an array is not
     *     one this optimizer keeps (a state of the other {@link LoraProAdamW.Mode}, or of another kind
     *     of optimizer) or has another shape than the weights give it, or a pair or parameter with a
     *     step count lacks an array it has made; the state is then unchanged
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
     *     know, an array has no step count, an array is not one this optimizer keeps or has another
     *     shape than the weights give it, or a pair or parameter with a step count lacks an array it
     *     has made; the optimizer's state is then unchanged, as it is when
     *     {@code reader} fails
     */
    public void importState(Map<String, Integer> steps, Collection<String> keys, Function<String, NDArray> reader) {
        requireOpen();
        Map<String, Integer> stateSteps = new LinkedHashMap<>();
        Map<String, Integer> counters = new HashMap<>();
        steps.forEach((k, v) -> (DjlUpdateCounters.isCounter(k) ? counters : stateSteps).put(k, v));
        // all of it checked (and the arrays read) before any of it replaces the current state
        updateCounters.check(counters, stableNames());
        state.load(stateSteps, keys, reader, layout());
        countedInRound.clear();
        updateCounters.restore(counters, stableNames());
    }

    /** The arrays this optimizer keeps, with the shapes its weights already have. */
    private StateLayout layout() {
        StateLayout layout = new StateLayout();
        parameterNames.forEach((id, name) -> {
            Parameter parameter = namedParameters.get(id);
            if (pairOfFactor.containsKey(id)) {
                // a pair's factors step with the pair: their arrays are the pair's, whatever names they also have
                return;
            }
            if (parameter != null && !parameter.requiresGradient()) {
                layout.addFrozen(name);
            } else {
                Shape shape = shapeOf(parameter);
                Map<String, Shape> arrays = new HashMap<>();
                parameterState().forEach(array -> arrays.put(array, shape));
                layout.add(name, arrays, List.of(arrays.keySet()));
            }
        });
        for (LoraPair pair : pairs.values()) {
            layout.add(pair.getName(), pairState(pair), pairStateGroups(pair));
        }
        return layout;
    }

    /** The parameter's shape, or null where it has none yet (or is not known). */
    static Shape shapeOf(Parameter parameter) {
        return parameter != null && parameter.isInitialized() ? parameter.getArray().getShape() : null;
    }

    /**
     * The state arrays this optimizer keeps for {@code pair}: each by its name after the pair's name
     * and a dot, with its shape, or null where the factors have none yet.
     */
    abstract Map<String, Shape> pairState(LoraPair pair);

    /**
     * The arrays of {@link #pairState} that a pair which has stepped has made, and so an imported
     * state with a step count for it must hold, in groups: each group whole or not at all, and at
     * least one. One group of all of them, unless the factors step one at a time ({@link PlainAdamW}).
     */
    List<Set<String>> pairStateGroups(LoraPair pair) {
        return List.of(pairState(pair).keySet());
    }

    /**
     * The state arrays this optimizer keeps for a parameter outside the pairs: their names after the
     * parameter's name and a dot; each is shaped like the parameter.
     */
    abstract Set<String> parameterState();

    /** Frees the state arrays; the optimizer cannot step, export or import afterwards. */
    @Override
    public void close() {
        closed = true;
        state.close();
    }

    /** Refuses use after {@link #close()}: the moments are gone, and would restart at zero mid-run. */
    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this optimizer is closed and its state freed: build a new one");
        }
    }

    /**
     * Builder options shared by every optimizer of this library.
     *
     * @param <T> the concrete builder
     */
    public abstract static class Builder<T extends Builder<T>> extends OptimizerBuilder<T> {

        private ParameterTracker learningRateTracker;
        private int beginNumUpdate;
        private final Map<String, LoraPair> pairs = new LinkedHashMap<>();
        private final Map<String, String> parameterNames = new HashMap<>();
        private final Map<String, Parameter> namedParameters = new HashMap<>();
        private boolean registeredModel;

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
         * Sets the hyper-parameters this optimizer has from {@code config} (each subclass adds its
         * own): here the weight decay.
         */
        public T optConfig(OptimizerConfig config) {
            return optWeightDecay(config.weightDecay());
        }

        /** Sets the decoupled weight decay wd (default 0): w ← w - lr (update + wd w). */
        public T optWeightDecay(float weightDecay) {
            return optWeightDecays(weightDecay);
        }

        /** Sets the update count before a parameter's first update, as DJL's option (default 0). */
        @Override
        public T optBeginNumUpdate(int beginNumUpdate) {
            this.beginNumUpdate = beginNumUpdate;
            return super.optBeginNumUpdate(beginNumUpdate);
        }

        /**
         * Registers every adapted {@link ai.lorapro.lora.LoraLinear} under {@code root} as a LoRA
         * layer named by its module path, and names the other parameters under {@code root} for the
         * optimizer state.
         */
        public T addLoraLayers(Block root) {
            registeredModel = true;
            Map<String, LoraPair> found = new LinkedHashMap<>();
            LoraPairs.collect(root, found, this::name);
            found.values().forEach(this::addLoraPair);
            return self();
        }

        /**
         * Names {@code parameter} {@code name} in the optimizer state, for a parameter that {@code
         * addLoraLayers} does not reach; only named parameters' state can be exported.
         */
        public T nameParameter(String name, Parameter parameter) {
            name(Objects.requireNonNull(name, "name"), parameter);
            return self();
        }

        private void name(String name, Parameter parameter) {
            parameterNames.put(parameter.getId(), name);
            namedParameters.put(parameter.getId(), parameter);
        }

        /** Registers one LoRA layer W = W0 + s B A, named {@code name} in the optimizer state. */
        public T addLoraPair(String name, Parameter loraA, Parameter loraB, float scaling) {
            return addLoraPair(new LoraPair(name, loraA, loraB, scaling));
        }

        /** Registers one LoRA layer, named {@code pair<index>} in the optimizer state. */
        public T addLoraPair(Parameter loraA, Parameter loraB, float scaling) {
            return addLoraPair("pair" + pairs.size(), loraA, loraB, scaling);
        }

        /** Registers one LoRA layer. */
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

        /** How many LoRA layers are registered so far. */
        int pairCount() {
            return pairs.size();
        }

        /**
         * Checks the settings before {@code build}; subclasses add their own checks. The learning rate
         * is required where the subclass gives no default (SGD has none).
         *
         * @throws IllegalArgumentException naming the setter when no learning rate was set
         */
        void validate() {
            if (learningRateTracker == null) {
                throw new IllegalArgumentException("a learning rate is required: setLearningRateTracker(Tracker.fixed(lr))"
                        + " or a schedule");
            }
        }
    }
}
