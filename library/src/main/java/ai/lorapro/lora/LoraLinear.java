package ai.lorapro.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.djl.util.RandomUtils;
import ai.lorapro.nn.Dropouts;
import ai.lorapro.nn.FrozenCast;
import ai.lorapro.nn.HfBlock;
import ai.lorapro.nn.Sampling;
import ai.lorapro.nn.Scalars;

import java.util.SplittableRandom;

/**
 * A linear layer y = x W0^T + b with an optional LoRA adapter: y += s * (dropout(x) A^T) B^T.
 *
 * <p>W0 is stored in Hugging Face layout (out x in) and is frozen unless {@link
 * #setBaseTrainable(boolean)} says otherwise (full fine-tuning). A (r x in) and B (out x r) are
 * trainable. Every linear layer of our models is a {@code LoraLinear}; {@link LoraInjector} attaches
 * adapters to the targeted ones, and user-built DJL models can use it directly through {@link
 * #builder()}.
 *
 * <p>Parameter names follow PEFT: {@code weight}, {@code bias}, {@code lora_A.weight}, {@code
 * lora_B.weight}.
 */
public final class LoraLinear extends HfBlock {

    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    private LoraConfig config;
    private Parameter loraA;
    private Parameter loraB;
    private float scaling;
    /** The exact W0 while merged, so that {@link #unmerge()} restores it bit for bit. */
    private NDArray unmergedWeight;
    /**
     * Salts this layer's random draws; until set ({@link #setSeedSalt}), drawn from DJL's engine
     * generator at the first draw ({@link #seedSalt()}).
     */
    private Long seedSalt;

    private LoraLinear(Builder b) {
        this.inFeatures = b.inFeatures;
        this.outFeatures = b.outFeatures;
        this.weight =
                parameter(
                        "weight",
                        Parameter.builder()
                                .setName("weight")
                                .setType(Parameter.Type.WEIGHT)
                                .optRequiresGrad(false)
                                .build());
        this.bias =
                b.bias
                        ? parameter(
                                "bias",
                                Parameter.builder()
                                        .setName("bias")
                                        .setType(Parameter.Type.BIAS)
                                        .optRequiresGrad(false)
                                        .build())
                        : null;
        if (b.config != null) {
            addAdapter(b.config);
        }
    }

    /** A builder for a layer with the given sizes. */
    public static Builder builder() {
        return new Builder();
    }

    /** Number of input features (n, the columns of W0). */
    public int getInFeatures() {
        return inFeatures;
    }

    /** Number of output features (m, the rows of W0). */
    public int getOutFeatures() {
        return outFeatures;
    }

    /** The base weight W0 (out x in). */
    public Parameter getWeight() {
        return weight;
    }

    /** The bias, or {@code null}. */
    public Parameter getBias() {
        return bias;
    }

    /** Whether a LoRA adapter is attached. */
    public boolean hasAdapter() {
        return loraA != null;
    }

    /** The adapter's configuration, or {@code null}. */
    public LoraConfig getConfig() {
        return config;
    }

    /** The factor A (r x in), or {@code null} without adapter. */
    public Parameter getLoraA() {
        return loraA;
    }

    /** The factor B (out x r), or {@code null} without adapter. */
    public Parameter getLoraB() {
        return loraB;
    }

    /** The scaling s = alpha / r (alpha / sqrt(r) with rsLoRA); 0 without adapter. */
    public float getScaling() {
        return scaling;
    }

    /** Whether the adapter is currently folded into W0. */
    public boolean isMerged() {
        return unmergedWeight != null;
    }

    /**
     * Lets W0 (and the bias) train, for the full fine-tuning baseline, or freezes them again.
     */
    public void setBaseTrainable(boolean trainable) {
        weight.freeze(!trainable);
        if (bias != null) {
            bias.freeze(!trainable);
        }
    }

    /**
     * Attaches a LoRA adapter. If W0 already holds values, A and B are created at once on W0's
     * device (A by {@link LoraConfig#getInit()}, B = 0); otherwise they are created when W0 is set
     * by {@link #initialize}.
     *
     * <p>In a model whose base weights are float16, this layer's output becomes float32, and a
     * product that meets it with a float16 one (attention scores of an adapted q against a frozen
     * k) fails in PyTorch. {@link LoraInjector#inject} avoids that by widening the model's pass from
     * its first activation; a caller that adds adapters here directly calls {@code
     * PassEntry.widenAll(model)} itself.
     */
    public void addAdapter(LoraConfig loraConfig) {
        if (hasAdapter()) {
            throw new IllegalStateException("layer already has a LoRA adapter");
        }
        loraConfig.checkFits("LoraLinear", inFeatures, outFeatures);
        this.config = loraConfig;
        this.scaling = loraConfig.getScaling();
        this.loraA =
                parameter(
                        "lora_A.weight",
                        Parameter.builder().setName("lora_A.weight").setType(Parameter.Type.WEIGHT).build());
        this.loraB =
                parameter(
                        "lora_B.weight",
                        Parameter.builder().setName("lora_B.weight").setType(Parameter.Type.WEIGHT).build());
        if (weight.isInitialized()) {
            initAdapter(weight.getArray().getManager());
        }
    }

    /**
     * Detaches the adapter and frees A and B: the layer is its base layer again, as before {@link
     * #addAdapter}.
     *
     * @throws IllegalStateException if the layer has no adapter, or has it merged into W0 ({@link
     *     #unmerge} first)
     */
    public void removeAdapter() {
        if (!hasAdapter()) {
            throw new IllegalStateException("layer has no LoRA adapter");
        }
        if (isMerged()) {
            throw new IllegalStateException("the adapter is merged into the weight: unmerge it before removing it");
        }
        for (String name : new String[] {"lora_A.weight", "lora_B.weight"}) {
            removeParameter(name).close();
        }
        loraA = null;
        loraB = null;
        config = null;
        scaling = 0;
    }

    /**
     * Creates A and B on {@code manager}'s device: A by the configured init from a generator
     * seeded by the config seed and this layer's salt ({@link #seedSalt()}: each layer gets its own
     * reproducible draw), B = 0 so that the adapted layer starts equal to the base layer.
     */
    private void initAdapter(NDManager manager) {
        int r = config.getR();
        SplittableRandom rng = new SplittableRandom(config.getSeed() * 0x9E3779B97F4A7C15L + seedSalt());
        float[] a =
                config.getInit() == LoraConfig.Init.KAIMING_UNIFORM
                        ? uniform(rng, r * inFeatures, 1.0 / Math.sqrt(inFeatures))
                        : gaussian(rng, r * inFeatures, 1.0 / r);
        // on W0's device, which need not be its manager's
        NDArray aArray;
        try (NDManager onDevice = manager.newSubManager(weight.getArray().getDevice())) {
            aArray = onDevice.create(a, new Shape(r, inFeatures));
            aArray.attach(manager);
        }
        NDArray bArray = manager.zeros(new Shape(outFeatures, r), DataType.FLOAT32, aArray.getDevice());
        loraA.setArray(aArray);
        loraB.setArray(bArray);
        aArray.setRequiresGradient(true);
        bArray.setRequiresGradient(true);
    }

    /**
     * Fills W0 (and the bias) like PyTorch's {@code nn.Linear}: U(-1/sqrt(in), 1/sqrt(in)), for
     * layers that are trained from scratch rather than loaded, from a generator seeded by this
     * layer's salt ({@link #seedSalt()}).
     */
    private void initBase(NDManager manager, DataType dataType) {
        SplittableRandom rng = new SplittableRandom(seedSalt() * 0xBF58476D1CE4E5B9L + 1);
        double bound = 1.0 / Math.sqrt(inFeatures);
        weight.setArray(inType(manager.create(uniform(rng, outFeatures * inFeatures, bound),
                new Shape(outFeatures, inFeatures)), dataType));
        if (bias != null) {
            bias.setArray(inType(manager.create(uniform(rng, outFeatures, bound)), dataType));
        }
    }

    /** {@code values} in {@code dataType}: itself if it is in it already, otherwise a copy, and then closed. */
    private static NDArray inType(NDArray values, DataType dataType) {
        if (values.getDataType() == dataType) {
            return values;
        }
        try (values) {
            return values.toType(dataType, true);
        }
    }

    /**
     * Salts the random draws of this layer: W0 and the bias when {@link #initialize} creates them,
     * and A. {@link LoraInjector} passes a hash of the module path, so that an injected adapter
     * depends only on the configuration's seed and the layer's place in the model.
     */
    public void setSeedSalt(long salt) {
        this.seedSalt = salt;
    }

    /**
     * The salt set by {@link #setSeedSalt}, or else one drawn now, once, from DJL's engine
     * generator ({@code RandomUtils.RANDOM}, which {@code Engine.setRandomSeed} seeds): layers
     * built in the same order after the same seed draw the same weights, and two layers of one
     * shape draw different ones, as DJL's own {@code Linear} does.
     */
    private long seedSalt() {
        if (seedSalt == null) {
            seedSalt = RandomUtils.RANDOM.nextLong();
        }
        return seedSalt;
    }

    private static float[] uniform(SplittableRandom rng, int n, double bound) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) ((rng.nextDouble() * 2 - 1) * bound);
        }
        return out;
    }

    private static float[] gaussian(SplittableRandom rng, int n, double std) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (Sampling.gaussian(rng) * std);
        }
        return out;
    }

    /** Folds the adapter into W0: W0 ← W0 + s B A, keeping W0 for an exact {@link #unmerge()}. */
    public void merge() {
        if (!hasAdapter() || isMerged()) {
            return;
        }
        NDArray w = weight.getArray();
        unmergedWeight = w.duplicate();
        try (NDArray delta = deltaWeight()) {
            w.addi(delta);
        }
    }

    /** Restores the exact W0 saved by {@link #merge()}. */
    public void unmerge() {
        if (!isMerged()) {
            return;
        }
        weight.getArray().set(new NDIndex("..."), unmergedWeight);
        unmergedWeight.close();
        unmergedWeight = null;
    }

    /** s B A, the adapter's contribution to the weight (a new array the caller closes). */
    public NDArray deltaWeight() {
        if (!hasAdapter()) {
            throw new IllegalStateException("layer has no LoRA adapter");
        }
        NDArray a = loraA.getArray();
        NDArray b = loraB.getArray();
        try (NDArray ba = b.matMul(a); NDArray scaled = ba.mul(scaling)) {
            // a copy even in W0's type, so that closing `scaled` never frees what is returned
            return scaled.toType(weight.getArray().getDataType(), true);
        }
    }

    @Override
    protected void prepare(Shape[] inputShapes) {}

    /** {@inheritDoc} DJL containers such as {@code SequentialBlock} need it to initialise. */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(outFeatures)};
    }

    @Override
    public void initialize(NDManager manager, DataType dataType, Shape... inputShapes) {
        if (!weight.isInitialized()) {
            initBase(manager, dataType);
        }
        if (hasAdapter() && !loraA.isInitialized()) {
            initAdapter(weight.getArray().getManager());
        }
        super.initialize(manager, dataType, inputShapes);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        NDArray w = store.getValue(weight, x.getDevice(), training);
        NDArray b = bias == null ? null : store.getValue(bias, x.getDevice(), training);
        // W0 may be float16 while the adapter stays float32. Each product runs in the wider type:
        // a frozen W0 is widened (FrozenCast), activations by type promotion (DJL's toType is not
        // differentiable), so the output is float32 once an adapter is added.
        DataType type = FrozenCast.wider(x.getDataType(), w.getDataType());
        NDArray wideW = FrozenCast.to(w, type);
        NDArray wideB = b == null ? null : FrozenCast.to(b, type);
        NDArray y = Linear.linear(promote(x, type), wideW, wideB).singletonOrThrow();
        FrozenCast.release(wideW, w);
        FrozenCast.release(wideB, b);
        if (!hasAdapter() || isMerged()) {
            return new NDList(y);
        }
        NDArray a = store.getValue(loraA, x.getDevice(), training);
        NDArray bl = store.getValue(loraB, x.getDevice(), training);
        NDArray xa = promote(x, FrozenCast.wider(x.getDataType(), a.getDataType()));
        NDArray xd = Dropouts.apply(xa, config.getDropout(), training);
        NDArray lora = Linear.linear(Linear.linear(xd, a).singletonOrThrow(), bl).singletonOrThrow();
        return new NDList(y.add(Scalars.mul(lora, scaling)));
    }

    /** {@code array} in {@code type} by adding a float zero of that type, which keeps the gradient. */
    private static NDArray promote(NDArray array, DataType type) {
        if (array.getDataType() == type) {
            return array;
        }
        return array.add(array.getManager().zeros(new Shape(1), type, array.getDevice()));
    }

    /** Builds a {@link LoraLinear}. */
    public static final class Builder {
        private int inFeatures;
        private int outFeatures;
        private boolean bias;
        private LoraConfig config;

        private Builder() {}

        /** Sets the number of input features n. */
        public Builder setInFeatures(int inFeatures) {
            this.inFeatures = inFeatures;
            return this;
        }

        /** Sets the number of output features m. */
        public Builder setOutFeatures(int outFeatures) {
            this.outFeatures = outFeatures;
            return this;
        }

        /** Adds a (frozen) bias. */
        public Builder optBias(boolean bias) {
            this.bias = bias;
            return this;
        }

        /** Attaches a LoRA adapter with this configuration. */
        public Builder optLora(LoraConfig config) {
            this.config = config;
            return this;
        }

        /** Builds the layer. */
        public LoraLinear build() {
            if (inFeatures < 1 || outFeatures < 1) {
                throw new IllegalArgumentException(
                        "LoraLinear needs positive sizes, got in=" + inFeatures + " out=" + outFeatures);
            }
            return new LoraLinear(this);
        }
    }
}
