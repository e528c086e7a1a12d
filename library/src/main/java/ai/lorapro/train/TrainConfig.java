package ai.lorapro.train;

import ai.lorapro.InvalidInputException;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.optim.XMode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Immutable settings of one training run. Validation errors name the command-line option that
 * sets the value, e.g. {@code --micro-batch}.
 */
public final class TrainConfig {

    private final Method method;
    private final int r;
    private final float alpha;
    private final boolean rsLora;
    private final float loraDropout;
    private final XMode xMode;
    private final StateDType stateDType;
    private final List<String> targetModules;
    private final float lr;
    private final float minLr;
    private final int epochs;
    private final int maxSteps;
    private final int globalBatch;
    private final int microBatch;
    private final double warmupRatio;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final double clipNorm;
    private final long seed;
    private final int evalInterval;
    private final int checkpointInterval;
    private final int logInterval;
    private final int maxSeqLength;
    private final DeviceChoice device;
    private final boolean fp16Frozen;
    private final Path outputDir;
    private final Set<String> allowedResumeChanges;

    private TrainConfig(Builder b) {
        allowedResumeChanges = Set.copyOf(b.allowedResumeChanges);
        method = b.method;
        r = b.r;
        alpha = b.alpha;
        rsLora = b.rsLora;
        loraDropout = b.loraDropout;
        xMode = b.xMode;
        stateDType = b.stateDType;
        targetModules = List.copyOf(b.targetModules);
        lr = b.lr;
        minLr = b.minLr;
        epochs = b.epochs;
        maxSteps = b.maxSteps;
        globalBatch = b.globalBatch;
        microBatch = b.microBatch;
        warmupRatio = b.warmupRatio;
        beta1 = b.beta1;
        beta2 = b.beta2;
        eps = b.eps;
        weightDecay = b.weightDecay;
        clipNorm = b.clipNorm;
        seed = b.seed;
        evalInterval = b.evalInterval;
        checkpointInterval = b.checkpointInterval;
        logInterval = b.logInterval;
        maxSeqLength = b.maxSeqLength;
        device = b.device;
        fp16Frozen = b.fp16Frozen;
        outputDir = b.outputDir;
    }

    /** A builder with the defaults; only the output directory is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.method = method;
        b.r = r;
        b.alpha = alpha;
        b.rsLora = rsLora;
        b.loraDropout = loraDropout;
        b.xMode = xMode;
        b.stateDType = stateDType;
        b.targetModules = new ArrayList<>(targetModules);
        b.lr = lr;
        b.minLr = minLr;
        b.epochs = epochs;
        b.maxSteps = maxSteps;
        b.globalBatch = globalBatch;
        b.microBatch = microBatch;
        b.warmupRatio = warmupRatio;
        b.beta1 = beta1;
        b.beta2 = beta2;
        b.eps = eps;
        b.weightDecay = weightDecay;
        b.clipNorm = clipNorm;
        b.seed = seed;
        b.evalInterval = evalInterval;
        b.checkpointInterval = checkpointInterval;
        b.logInterval = logInterval;
        b.maxSeqLength = maxSeqLength;
        b.device = device;
        b.fp16Frozen = fp16Frozen;
        b.outputDir = outputDir;
        return b;
    }

    /**
     * The adapter settings for LoRA methods, built from r, alpha, rsLoRA, dropout, target modules
     * and the seed.
     *
     * @throws IllegalStateException for {@link Method#FULL}, which has no adapters
     */
    public LoraConfig toLoraConfig() {
        if (!method.usesAdapters()) {
            throw new IllegalStateException("method " + method.cliName() + " has no adapters");
        }
        return LoraConfig.builder()
                .setR(r)
                .setAlpha(alpha)
                .optUseRsLora(rsLora)
                .optDropout(loraDropout)
                .optTargetModules(targetModules)
                .optSeed(seed)
                .build();
    }

    /** Micro-batches accumulated per optimizer step: global batch / micro batch. */
    public int getGradientAccumulation() {
        return globalBatch / microBatch;
    }

    /**
     * The number of optimizer steps the run takes: {@code maxSteps} when set, else the epochs times
     * the steps per epoch (the last global batch of an epoch may be short).
     *
     * @param datasetSize the number of training examples
     * @return the total optimizer steps
     */
    public int totalSteps(int datasetSize) {
        if (maxSteps > 0) {
            return maxSteps;
        }
        long perEpoch = (datasetSize + (long) globalBatch - 1) / globalBatch;
        return (int) Math.min(Integer.MAX_VALUE, perEpoch * epochs);
    }

    /** The fine-tuning method. */
    public Method getMethod() {
        return method;
    }

    /** The LoRA rank r. */
    public int getR() {
        return r;
    }

    /** The LoRA alpha. */
    public float getAlpha() {
        return alpha;
    }

    /** Whether the LoRA scaling is alpha / sqrt(r). */
    public boolean isRsLora() {
        return rsLora;
    }

    /** Dropout on the LoRA branch's input. */
    public float getLoraDropout() {
        return loraDropout;
    }

    /** How LoRA-Pro chooses X. */
    public XMode getXMode() {
        return xMode;
    }

    /** How LoRA-Pro full mode stores its moments. */
    public StateDType getStateDType() {
        return stateDType;
    }

    /** The target module names; {@code all-linear} by default. */
    public List<String> getTargetModules() {
        return targetModules;
    }

    /** The peak learning rate. */
    public float getLr() {
        return lr;
    }

    /** The learning rate at the end of the cosine decay. */
    public float getMinLr() {
        return minLr;
    }

    /** The number of passes over the data (ignored when max steps is set). */
    public int getEpochs() {
        return epochs;
    }

    /** The number of optimizer steps, or {@code -1} to run for the epochs. */
    public int getMaxSteps() {
        return maxSteps;
    }

    /** Examples per optimizer step. */
    public int getGlobalBatch() {
        return globalBatch;
    }

    /** Examples per forward/backward pass. */
    public int getMicroBatch() {
        return microBatch;
    }

    /** The warm-up length as a fraction of the total steps. */
    public double getWarmupRatio() {
        return warmupRatio;
    }

    /** Adam's beta1. */
    public float getBeta1() {
        return beta1;
    }

    /** Adam's beta2. */
    public float getBeta2() {
        return beta2;
    }

    /** Adam's epsilon. */
    public float getEps() {
        return eps;
    }

    /** Decoupled weight decay. */
    public float getWeightDecay() {
        return weightDecay;
    }

    /** The global gradient-norm bound; 0 turns clipping off. */
    public double getClipNorm() {
        return clipNorm;
    }

    /** Seed for shuffling and adapter initialisation. */
    public long getSeed() {
        return seed;
    }

    /** Evaluate every this many steps; 0 evaluates only at the end. */
    public int getEvalInterval() {
        return evalInterval;
    }

    /** Save a checkpoint every this many steps; 0 saves only at the end. */
    public int getCheckpointInterval() {
        return checkpointInterval;
    }

    /** Log a progress line every this many steps when not on a terminal. */
    public int getLogInterval() {
        return logInterval;
    }

    /** Examples are truncated to this many tokens. */
    public int getMaxSeqLength() {
        return maxSeqLength;
    }

    /** Where training runs. */
    public DeviceChoice getDevice() {
        return device;
    }

    /** Whether the frozen base weights are held in float16. */
    public boolean isFp16Frozen() {
        return fp16Frozen;
    }

    /** The {@link RunIdentity#CHANGEABLE} fields a resumed run may change ({@code all} for every one). */
    public Set<String> getAllowedResumeChanges() {
        return allowedResumeChanges;
    }

    /** The directory that receives checkpoints, adapters and metrics. */
    public Path getOutputDir() {
        return outputDir;
    }

    @Override
    public String toString() {
        return "TrainConfig{method=" + method.cliName() + ", r=" + r + ", alpha=" + alpha
                + ", rsLora=" + rsLora + ", xMode=" + xMode.id() + ", targets="
                + targetModules + ", lr=" + lr + ", epochs=" + epochs + ", maxSteps=" + maxSteps
                + ", globalBatch=" + globalBatch + ", microBatch=" + microBatch + ", seed=" + seed
                + ", maxSeqLength=" + maxSeqLength + ", device=" + device.cliName()
                + ", outputDir=" + outputDir + "}";
    }

    /** Builds a {@link TrainConfig}; {@link #build()} validates every value. */
    public static final class Builder {

        private Method method = Method.LORA_PRO;
        private int r = 8;
        private float alpha = 16;
        private boolean rsLora;
        private float loraDropout;
        private XMode xMode = XMode.SYLVESTER;
        private StateDType stateDType = StateDType.FP32;
        private List<String> targetModules = new ArrayList<>(List.of(LoraConfig.ALL_LINEAR));
        private float lr = 2e-5f;
        private float minLr;
        private int epochs = 1;
        private int maxSteps = -1;
        private int globalBatch = 32;
        private int microBatch = 4;
        private double warmupRatio = 0.03;
        private float beta1 = 0.9f;
        private float beta2 = 0.999f;
        private float eps = 1e-8f;
        private float weightDecay;
        private double clipNorm = 1.0;
        private long seed = 42;
        private int evalInterval;
        private int checkpointInterval;
        private int logInterval = 10;
        private int maxSeqLength = 512;
        private DeviceChoice device = DeviceChoice.AUTO;
        private boolean fp16Frozen;
        private Path outputDir;
        private Set<String> allowedResumeChanges = Set.of();

        private Builder() {}

        /** The fine-tuning method; {@code lora-pro} by default. */
        public Builder optMethod(Method method) {
            this.method = Objects.requireNonNull(method, "method");
            return this;
        }

        /** The LoRA rank; 8 by default. */
        public Builder optR(int r) {
            this.r = r;
            return this;
        }

        /** The LoRA alpha; 16 by default. */
        public Builder optAlpha(float alpha) {
            this.alpha = alpha;
            return this;
        }

        /** Use alpha / sqrt(r) as the scaling. */
        public Builder optRsLora(boolean rsLora) {
            this.rsLora = rsLora;
            return this;
        }

        /** Dropout on the LoRA branch's input; 0 by default. */
        public Builder optLoraDropout(float loraDropout) {
            this.loraDropout = loraDropout;
            return this;
        }

        /** How LoRA-Pro chooses X; {@code sylvester} by default. */
        public Builder optXMode(XMode xMode) {
            this.xMode = Objects.requireNonNull(xMode, "xMode");
            return this;
        }

        /** How LoRA-Pro full mode stores its moments; {@code fp32} by default. */
        public Builder optStateDType(StateDType stateDType) {
            this.stateDType = Objects.requireNonNull(stateDType, "stateDType");
            return this;
        }

        /** The target module names; {@code all-linear} by default. */
        public Builder optTargetModules(Collection<String> targetModules) {
            this.targetModules = new ArrayList<>(targetModules);
            return this;
        }

        /** The peak learning rate; 2e-5 by default. */
        public Builder optLr(float lr) {
            this.lr = lr;
            return this;
        }

        /** The final learning rate of the cosine decay; 0 by default. */
        public Builder optMinLr(float minLr) {
            this.minLr = minLr;
            return this;
        }

        /** The number of epochs; 1 by default. */
        public Builder optEpochs(int epochs) {
            this.epochs = epochs;
            return this;
        }

        /** A fixed number of optimizer steps that overrides the epochs; -1 (unset) by default. */
        public Builder optMaxSteps(int maxSteps) {
            this.maxSteps = maxSteps;
            return this;
        }

        /** Examples per optimizer step; 32 by default. */
        public Builder optGlobalBatch(int globalBatch) {
            this.globalBatch = globalBatch;
            return this;
        }

        /** Examples per forward/backward pass; 4 by default; must divide the global batch. */
        public Builder optMicroBatch(int microBatch) {
            this.microBatch = microBatch;
            return this;
        }

        /** The warm-up fraction of the total steps; 0.03 by default. */
        public Builder optWarmupRatio(double warmupRatio) {
            this.warmupRatio = warmupRatio;
            return this;
        }

        /** Adam's betas; (0.9, 0.999) by default. */
        public Builder optBetas(float beta1, float beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        /** Adam's epsilon; 1e-8 by default. */
        public Builder optEps(float eps) {
            this.eps = eps;
            return this;
        }

        /** Decoupled weight decay; 0 by default. */
        public Builder optWeightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        /** The global gradient-norm bound; 1.0 by default, 0 turns clipping off. */
        public Builder optClipNorm(double clipNorm) {
            this.clipNorm = clipNorm;
            return this;
        }

        /** The seed; 42 by default. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Evaluate every this many steps; 0 (only at the end) by default. */
        public Builder optEvalInterval(int evalInterval) {
            this.evalInterval = evalInterval;
            return this;
        }

        /** Checkpoint every this many steps; 0 (only at the end) by default. */
        public Builder optCheckpointInterval(int checkpointInterval) {
            this.checkpointInterval = checkpointInterval;
            return this;
        }

        /** Log every this many steps when not on a terminal; 10 by default. */
        public Builder optLogInterval(int logInterval) {
            this.logInterval = logInterval;
            return this;
        }

        /** The maximum tokens per example; 512 by default. */
        public Builder optMaxSeqLength(int maxSeqLength) {
            this.maxSeqLength = maxSeqLength;
            return this;
        }

        /** Where training runs; {@code auto} by default. */
        public Builder optDevice(DeviceChoice device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /** {@link RunIdentity#CHANGEABLE} fields a resumed run may change ({@code all} for every one). */
        public Builder optAllowedResumeChanges(Collection<String> fields) {
            for (String f : fields) {
                if (!f.equals("all") && !RunIdentity.CHANGEABLE.contains(f)) {
                    throw new InvalidInputException("--allow-resume-change: unknown field '" + f + "' (one of all, "
                            + String.join(", ", RunIdentity.CHANGEABLE) + ")");
                }
            }
            this.allowedResumeChanges = Set.copyOf(fields);
            return this;
        }

        /** Hold the frozen base weights in float16. */
        public Builder optFp16Frozen(boolean fp16Frozen) {
            this.fp16Frozen = fp16Frozen;
            return this;
        }

        /** The output directory (required). */
        public Builder setOutputDir(Path outputDir) {
            this.outputDir = outputDir;
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws InvalidInputException naming the first invalid option
         */
        public TrainConfig build() {
            require(outputDir != null, "--out is required");
            require(r >= 1, "--r must be >= 1, got " + r);
            require(finitePositive(alpha), "--alpha must be > 0, got " + alpha);
            require(loraDropout >= 0 && loraDropout < 1,
                    "--lora-dropout must be in [0, 1), got " + loraDropout);
            require(!targetModules.isEmpty() && targetModules.stream().noneMatch(String::isBlank),
                    "--target-modules needs at least one non-empty module name");
            require(finitePositive(lr), "--lr must be > 0, got " + lr);
            require(minLr >= 0 && minLr <= lr, "--min-lr must be in [0, lr], got " + minLr);
            require(epochs >= 1, "--epochs must be >= 1, got " + epochs);
            require(maxSteps == -1 || maxSteps >= 1,
                    "--max-steps must be >= 1 (or -1 for epochs), got " + maxSteps);
            require(globalBatch >= 1, "--global-batch must be >= 1, got " + globalBatch);
            require(microBatch >= 1, "--micro-batch must be >= 1, got " + microBatch);
            require(globalBatch % microBatch == 0, "--micro-batch " + microBatch
                    + " must divide --global-batch " + globalBatch);
            require(warmupRatio >= 0 && warmupRatio <= 1,
                    "--warmup-ratio must be in [0, 1], got " + warmupRatio);
            require(beta1 >= 0 && beta1 < 1, "--beta1 must be in [0, 1), got " + beta1);
            require(beta2 >= 0 && beta2 < 1, "--beta2 must be in [0, 1), got " + beta2);
            require(finitePositive(eps), "--eps must be > 0, got " + eps);
            require(weightDecay >= 0 && Float.isFinite(weightDecay),
                    "--weight-decay must be >= 0, got " + weightDecay);
            require(clipNorm >= 0 && Double.isFinite(clipNorm),
                    "--clip-norm must be >= 0 (0 = off), got " + clipNorm);
            require(evalInterval >= 0, "--eval-interval must be >= 0, got " + evalInterval);
            require(checkpointInterval >= 0,
                    "--checkpoint-interval must be >= 0, got " + checkpointInterval);
            require(logInterval >= 1, "--log-interval must be >= 1, got " + logInterval);
            require(maxSeqLength >= 2, "--max-seq-length must be >= 2, got " + maxSeqLength);
            require(!fp16Frozen || method.usesAdapters(),
                    "--fp16-frozen needs a LoRA method: full fine-tuning trains every weight");
            require(stateDType == StateDType.FP32 || method == Method.LORA_PRO,
                    "--state-dtype " + stateDType.id() + " applies to --method lora-pro (full-mode moments) only");
            require(stateDType == StateDType.FP32 || device != DeviceChoice.GPU,
                    "--state-dtype " + stateDType.id() + " runs on the CPU only (the fused CPU step)");
            return new TrainConfig(this);
        }

        private static boolean finitePositive(float value) {
            return value > 0 && Float.isFinite(value);
        }

        private static void require(boolean condition, String message) {
            if (!condition) {
                throw new InvalidInputException(message);
            }
        }
    }
}
