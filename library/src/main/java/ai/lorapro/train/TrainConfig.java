package ai.lorapro.train;

import static ai.lorapro.InvalidFieldException.require;

import ai.lorapro.lora.LoraConfig;
import ai.lorapro.optim.OptimizerConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.optim.XMode;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The settings of one training run: the method and one record per part that uses them, each
 * validated in its own constructor; this one checks only what spans two parts. Errors name the
 * field ({@link ai.lorapro.InvalidFieldException}), never a command-line option.
 *
 * <pre>{@code
 * TrainConfig config = TrainConfig.builder()
 *         .optMethod(Method.LORA_PRO).optR(8).optLr(2e-4f).optGlobalBatch(16).optMicroBatch(4)
 *         .setOutputDir(Path.of("runs/x"))
 *         .build();
 * }</pre>
 *
 * <p>The constructor throws {@link ai.lorapro.InvalidFieldException} naming the field of a setting
 * that does not fit the others ({@code fp16_frozen}, {@code state_dtype}).
 *
 * @param method the fine-tuning method
 * @param lora the adapters (unused by {@link Method#FULL}); their initialisation seed is the run's
 *     when built by {@link #builder()}
 * @param optimizer the optimizer's hyper-parameters
 * @param schedule the learning-rate schedule
 * @param batch batching and run length
 * @param run output directory, seed, device, gradient treatment, intervals, resume changes
 */
public record TrainConfig(Method method, LoraConfig lora, OptimizerConfig optimizer, ScheduleConfig schedule,
        BatchConfig batch, RunConfig run) {

    /**
     * The optimizer's defaults as a run gets them: {@link OptimizerConfig#DEFAULTS} with the betas
     * and epsilon given as floats (0.9f, 0.999f, 1e-8f), as the command line gives them, so that runs
     * and their checkpoints stay as they were before the settings were split.
     */
    public static final OptimizerConfig DEFAULT_OPTIMIZER =
            new OptimizerConfig(0.9f, 0.999f, 1e-8f, 0f, XMode.SYLVESTER, StateDType.FP32);

    /** Checks the parts are present and fit together. */
    public TrainConfig {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(lora, "lora");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(batch, "batch");
        Objects.requireNonNull(run, "run");
        require(!run.fp16Frozen() || method.usesAdapters(), "fp16_frozen",
                "needs a LoRA method: full fine-tuning trains every weight");
        StateDType stateDType = optimizer.stateDType();
        require(stateDType == StateDType.FP32 || method == Method.LORA_PRO, "state_dtype",
                stateDType.id() + " applies to method lora-pro (full-mode moments) only");
        require(stateDType == StateDType.FP32 || run.device() != DeviceChoice.GPU, "state_dtype",
                stateDType.id() + " runs on the CPU only (the fused CPU step)");
    }

    /** A builder with the defaults; only the output directory is required. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.method = method;
        b.lora = lora.toBuilder();
        b.optimizer = optimizer;
        b.lr = schedule.lr();
        b.minLr = schedule.minLr();
        b.warmupRatio = schedule.warmupRatio();
        b.globalBatch = batch.globalBatch();
        b.microBatch = batch.microBatch();
        b.maxSeqLength = batch.maxSeqLength();
        b.epochs = batch.epochs();
        b.maxSteps = batch.maxSteps();
        b.outputDir = run.outputDir();
        b.seed = run.seed();
        b.device = run.device();
        b.fp16Frozen = run.fp16Frozen();
        b.clipNorm = run.clipNorm();
        b.evalInterval = run.evalInterval();
        b.checkpointInterval = run.checkpointInterval();
        b.keepCheckpoints = run.keepCheckpoints();
        b.logInterval = run.logInterval();
        b.allowedResumeChanges = run.allowedResumeChanges();
        return b;
    }

    /** The settings in one line, as recorded in a checkpoint's trainer state. */
    @Override
    public String toString() {
        return "TrainConfig{method=" + method.id() + ", r=" + lora.getR() + ", alpha=" + lora.getAlpha()
                + ", rsLora=" + lora.isUseRsLora() + ", xMode=" + optimizer.xMode().id() + ", targets="
                + lora.getTargetModules() + ", lr=" + schedule.lr() + ", epochs=" + batch.epochs() + ", maxSteps="
                + batch.maxSteps() + ", globalBatch=" + batch.globalBatch() + ", microBatch=" + batch.microBatch()
                + ", seed=" + run.seed() + ", maxSeqLength=" + batch.maxSeqLength() + ", device="
                + run.device().name().toLowerCase(Locale.ROOT) + ", outputDir=" + run.outputDir() + "}";
    }

    /**
     * Gathers the settings one value at a time; {@link #build()} makes the records, each of which
     * validates its own fields.
     */
    public static final class Builder {
        /** The run settings' defaults ({@link RunConfig#defaults}); the output directory has none. */
        private static final RunConfig RUN_DEFAULTS = RunConfig.defaults(Path.of("."));

        private Method method = Method.LORA_PRO;
        /** The adapters but their seed, which is the run's. */
        private LoraConfig.Builder lora = LoraConfig.builder();
        private OptimizerConfig optimizer = DEFAULT_OPTIMIZER;
        private float lr = ScheduleConfig.DEFAULTS.lr();
        private float minLr = ScheduleConfig.DEFAULTS.minLr();
        private double warmupRatio = ScheduleConfig.DEFAULTS.warmupRatio();
        private int globalBatch = BatchConfig.DEFAULTS.globalBatch();
        private int microBatch = BatchConfig.DEFAULTS.microBatch();
        private int maxSeqLength = BatchConfig.DEFAULTS.maxSeqLength();
        private int epochs = BatchConfig.DEFAULTS.epochs();
        private int maxSteps = BatchConfig.DEFAULTS.maxSteps();
        private Path outputDir;
        private long seed = RUN_DEFAULTS.seed();
        private DeviceChoice device = RUN_DEFAULTS.device();
        private boolean fp16Frozen = RUN_DEFAULTS.fp16Frozen();
        private double clipNorm = RUN_DEFAULTS.clipNorm();
        private int evalInterval = RUN_DEFAULTS.evalInterval();
        private int checkpointInterval = RUN_DEFAULTS.checkpointInterval();
        private int keepCheckpoints = RUN_DEFAULTS.keepCheckpoints();
        private int logInterval = RUN_DEFAULTS.logInterval();
        private Collection<String> allowedResumeChanges = Set.of();

        private Builder() {}

        /** The fine-tuning method; {@code lora-pro} by default. */
        public Builder optMethod(Method method) {
            this.method = Objects.requireNonNull(method, "method");
            return this;
        }

        /** The LoRA rank; 8 by default. */
        public Builder optR(int r) {
            lora.setR(r);
            return this;
        }

        /** The LoRA alpha; 16 by default. */
        public Builder optAlpha(float alpha) {
            lora.setAlpha(alpha);
            return this;
        }

        /** Use alpha / sqrt(r) as the scaling. */
        public Builder optRsLora(boolean rsLora) {
            lora.optUseRsLora(rsLora);
            return this;
        }

        /** Dropout on the LoRA branch's input; 0 by default. */
        public Builder optLoraDropout(float loraDropout) {
            lora.optDropout(loraDropout);
            return this;
        }

        /** The target module names; {@code all-linear} by default. */
        public Builder optTargetModules(Collection<String> targetModules) {
            lora.optTargetModules(targetModules);
            return this;
        }

        /** Every optimizer hyper-parameter at once; {@link #DEFAULT_OPTIMIZER} by default. */
        public Builder optOptimizer(OptimizerConfig optimizer) {
            this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
            return this;
        }

        /** How LoRA-Pro chooses X; {@code sylvester} by default. */
        public Builder optXMode(XMode xMode) {
            return optOptimizer(optimizer.withXMode(xMode));
        }

        /** How LoRA-Pro full mode stores its moments; {@code fp32} by default. */
        public Builder optStateDType(StateDType stateDType) {
            return optOptimizer(optimizer.withStateDType(stateDType));
        }

        /** Adam's betas; (0.9, 0.999) by default. */
        public Builder optBetas(float beta1, float beta2) {
            return optOptimizer(optimizer.withBetas(beta1, beta2));
        }

        /** Adam's epsilon; 1e-8 by default. */
        public Builder optEps(float eps) {
            return optOptimizer(optimizer.withEps(eps));
        }

        /** Decoupled weight decay; 0 by default. */
        public Builder optWeightDecay(float weightDecay) {
            return optOptimizer(optimizer.withWeightDecay(weightDecay));
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

        /** The warm-up fraction of the total steps; 0.03 by default. */
        public Builder optWarmupRatio(double warmupRatio) {
            this.warmupRatio = warmupRatio;
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

        /**
         * The most tokens the encoders keep of a text; 512 by default. The engine does not truncate
         * the examples it is given: encode them to this length ({@link BatchConfig#maxSeqLength}).
         */
        public Builder optMaxSeqLength(int maxSeqLength) {
            this.maxSeqLength = maxSeqLength;
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

        /** The output directory (required). */
        public Builder setOutputDir(Path outputDir) {
            this.outputDir = outputDir;
            return this;
        }

        /** The seed of shuffling, adapter initialisation and dropout; 42 by default. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Where training runs; {@code auto} by default. */
        public Builder optDevice(DeviceChoice device) {
            this.device = Objects.requireNonNull(device, "device");
            return this;
        }

        /** Hold the frozen base weights in float16. */
        public Builder optFp16Frozen(boolean fp16Frozen) {
            this.fp16Frozen = fp16Frozen;
            return this;
        }

        /** The global gradient-norm bound; 1.0 by default, 0 turns clipping off. */
        public Builder optClipNorm(double clipNorm) {
            this.clipNorm = clipNorm;
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

        /**
         * Keep only this many of the run's checkpoints, the newest by step (the one just written
         * always among them); 0 (every one) by default.
         */
        public Builder optKeepCheckpoints(int keepCheckpoints) {
            this.keepCheckpoints = keepCheckpoints;
            return this;
        }

        /** Log every this many steps when not on a terminal; 10 by default. */
        public Builder optLogInterval(int logInterval) {
            this.logInterval = logInterval;
            return this;
        }

        /** {@link RunIdentity#CHANGEABLE} fields a resumed run may change ({@code all} for every one). */
        public Builder optAllowedResumeChanges(Collection<String> fields) {
            this.allowedResumeChanges = List.copyOf(fields);
            return this;
        }

        /**
         * Builds the records, each validating its fields, and the configuration.
         *
         * @throws ai.lorapro.InvalidFieldException naming the first invalid field
         */
        public TrainConfig build() {
            RunConfig runConfig = new RunConfig(outputDir, seed, device, fp16Frozen, clipNorm, evalInterval,
                    checkpointInterval, keepCheckpoints, logInterval, Set.copyOf(allowedResumeChanges));
            return new TrainConfig(method, lora.optSeed(seed).build(), optimizer, new ScheduleConfig(lr, minLr, warmupRatio),
                    new BatchConfig(globalBatch, microBatch, maxSeqLength, epochs, maxSteps), runConfig);
        }
    }
}
