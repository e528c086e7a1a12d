package ai.lorapro.train;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.DataPosition;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.batch.TrainBatches;
import ai.lorapro.io.Directories;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.nn.Finiteness;
import ai.lorapro.nn.Gradients;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.optim.ResumableOptimizer;
import ai.lorapro.optim.StateDType;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The training loop shared by every task: micro-batches with gradient accumulation, the warm-up
 * cosine schedule, clipping by global norm, non-finite steps skipped, dynamic loss scaling with
 * fp16 frozen weights. What runs beside the steps are {@link StepListener}s, each a small class:
 * metrics, progress, evaluation and checkpoints (with the checks of an exact resume); the command line draws the loss plot from the metrics.
 *
 * <p>Each step runs in its own sub-manager of the model's manager, so every array it makes is freed
 * when the step ends. The engine's random generator is reseeded with {@code seed + step} before
 * every step, which makes dropout reproducible across a resume.
 *
 * <p>With {@link Builder#optDevices} the engine trains data parallel ({@code DataParallel}): each
 * micro-batch is split across replicas of the model, their gradients are summed onto the model's
 * own parameters, and the optimizer steps once.
 *
 * <pre>{@code
 * try (TrainingEngine engine = TrainingEngine.builder()
 *         .setTask(new CausalLmTask(model))
 *         .setConfig(config)
 *         .setManager(manager)
 *         .setTrainExamples(train)
 *         .optEvalExamples(eval)
 *         .build()) {
 *     TrainResult result = engine.run();
 * }
 * }</pre>
 */
public final class TrainingEngine implements AutoCloseable {

    /** The metrics file inside the output directory. */
    public static final String METRICS_FILE = "metrics.jsonl";
    /** The loss plot's name inside the output directory (drawn by the command line, not by the engine). */
    public static final String PLOT_FILE = "loss.png";
    /** The checkpoints directory inside the output directory. */
    public static final String CHECKPOINTS_DIR = "checkpoints";

    private static final Logger LOGGER = LoggerFactory.getLogger(TrainingEngine.class);

    private final TrainTask task;
    private final TrainConfig config;
    private final NDManager manager;
    private final List<Example> trainExamples;
    private final List<Example> evalExamples;
    private final long padId;
    private final EvalHook evalHook;
    private final String baseModel;
    private final ProgressReporter.Factory progress;
    private final Consumer<Path> checkpointPublished;
    private final Map<String, Parameter> trainable;
    private final WarmupCosineSchedule schedule;
    private final ResumableOptimizer optimizer;
    private final LossScaler scaler;
    private final String fingerprint;
    private final RunIdentity identity;
    private final int totalSteps;
    private final TrainBatches batches;
    private final DataParallel replicas;
    private long globalStep;
    private long skippedSteps;

    private TrainingEngine(Builder b) {
        this.task = b.task;
        this.config = b.config;
        this.manager = b.manager;
        this.trainExamples = List.copyOf(b.trainExamples);
        this.evalExamples = List.copyOf(b.evalExamples);
        this.padId = b.padId;
        this.evalHook = b.evalHook;
        this.baseModel = b.baseModel;
        this.progress = b.progress;
        this.checkpointPublished = b.checkpointPublished;
        if (trainExamples.isEmpty()) {
            throw new InvalidInputException("the training data holds no usable example");
        }
        // ids the model has no row for are refused here, by example, not by the step (or the final
        // evaluation) that reaches them
        requireUsable(task, trainExamples, "training example");
        requireUsable(task, evalExamples, "evaluation example");
        try {
            task.requireUsable(new Example(new long[] {padId}, new long[] {Example.IGNORE_INDEX}));
        } catch (InvalidInputException e) {
            throw new InvalidInputException("the pad id (optPadId) " + padId + " is not a token id the model takes ("
                    + e.getMessage() + ")", e);
        }
        // with k devices a pass takes micro-batch x k examples, split across the replicas
        int k = b.devices.isEmpty() ? 1 : b.devices.size();
        config.batch().requireSplitsOver(k);
        requireStateOnCpu(config, b.devices.isEmpty() ? List.of(manager.getDevice()) : b.devices);
        if (b.resumeDir == null) {
            requireNoEarlierRun(config.run().outputDir());
        }
        // settings that need no model are checked before the model is changed
        this.scaler = new LossScaler(config.run().fp16Frozen(), b.initialLossScale, b.lossScaleGrowthInterval);
        Block model = task.model();
        Map<Parameter, Boolean> trainableBefore = new LinkedHashMap<>();
        ModuleTree.namedParameters(model).values().forEach(p -> trainableBefore.put(p, p.requiresGradient()));
        List<String> adapted = MethodSetup.prepare(model, config);
        ResumableOptimizer created = null;
        try {
            this.trainable = MethodSetup.trainableParameters(model);
            this.totalSteps = config.batch().totalSteps(trainExamples.size());
            this.schedule = config.schedule().over(totalSteps);
            if (totalSteps == 1 && schedule.valueAfter(0) == 0) {
                // Hugging Face's warm-up starts at 0 too; on a sample data set that fits one batch this
                // is the whole run
                LOGGER.warn("the run has one step, and its warm-up gives that step learning rate 0: the weights will"
                        + " not change; run more steps (epochs, max_steps: --epochs, --max-steps) or set warmup_ratio 0"
                        + " (--warmup-ratio 0)");
            }
            // the engine hands each step's rate to the optimizer; the tracker serves DJL's update(...) only
            this.optimizer = created = MethodSetup.optimizer(model, config, schedule);
            this.fingerprint = DatasetFingerprint.of(trainExamples);
            this.identity = RunIdentity.of(model, config, fingerprint, totalSteps);
            DataPosition start = DataPosition.START;
            if (b.resumeDir != null) {
                identity.requireResumableFrom(b.resumeDir, RunIdentity.read(b.resumeDir), config.run().allowedResumeChanges());
                ResumeLimits.requireStepWithinRun(b.resumeDir, TrainerState.read(b.resumeDir).globalStep(), totalSteps);
                TrainerState state = CheckpointListener.restore(b.resumeDir, model, config, optimizer, manager,
                        fingerprint);
                globalStep = state.globalStep();
                LOGGER.info("resuming from {} at step {} of {}", b.resumeDir, globalStep, totalSteps);
                skippedSteps = state.skippedSteps();
                start = state.position();
                scaler.restore(state.lossScale(), state.lossScaleGoodSteps());
            }
            this.batches = new TrainBatches(trainExamples, config.batch().microBatch() * k, config.batch().gradientAccumulation() / k,
                    config.run().seed(), true, padId, start);
            // GPUs run their replicas on threads, but not with layer recompute (fp16_frozen): it reseeds the
            // engine's one random generator before each layer's passes, so a replica on another thread
            // would draw the other's dropout masks, and a layer's recompute would not be its forward pass
            boolean concurrent = !b.devices.isEmpty() && b.devices.get(0).isGpu() && !config.run().fp16Frozen();
            this.replicas = b.devices.isEmpty() ? DataParallel.single(manager)
                    : DataParallel.of(model, manager, b.devices, b.concurrentReplicas.orElse(concurrent));
        } catch (RuntimeException | Error e) {
            // a refused resume or device list: the optimizer's state (restored moments) is freed, and
            // the adapters this engine added are taken out again, so that the caller's model can be
            // given to a corrected builder (it refuses a model that has adapters already)
            if (created != null) {
                created.close();
            }
            try {
                LoraInjector.remove(model, adapted);
                // full fine-tuning unfroze every weight: a corrected LoRA builder would train them all
                trainableBefore.forEach((p, trainable) -> p.freeze(!trainable));
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
    }

    /** {@link TrainTask#requireUsable} of each example, a failure naming it by {@code what} and its number from 1. */
    private static void requireUsable(TrainTask task, List<Example> examples, String what) {
        for (int i = 0; i < examples.size(); i++) {
            try {
                task.requireUsable(examples.get(i));
            } catch (InvalidInputException e) {
                throw new InvalidInputException(what + " " + (i + 1) + ": " + e.getMessage()
                        + "; were the examples encoded by another tokenizer than the model's?", e);
            }
        }
    }

    /**
     * Refuses a new run (not a resumed one) into a directory that holds another run's metrics or
     * checkpoints: its {@code metrics.jsonl} would be cut back to the new run's steps and its
     * checkpoints replaced one by one, two runs mixed without a word; a link named {@code
     * metrics.jsonl} would have the new run's lines written where it leads. (The command line refuses
     * earlier, or moves them aside with {@code --overwrite}.)
     */
    private static void requireNoEarlierRun(Path out) {
        Path metrics = out.resolve(METRICS_FILE);
        Path checkpoints = out.resolve(CHECKPOINTS_DIR);
        // a link named metrics.jsonl counts, even one to nothing: the writer would create its target
        String found = Files.exists(metrics, LinkOption.NOFOLLOW_LINKS) ? METRICS_FILE
                : Files.isDirectory(checkpoints) && !Directories.isEmptyOrAbsent(checkpoints) ? CHECKPOINTS_DIR + "/"
                : null;
        if (found != null) {
            throw new InvalidInputException(out + " holds another run's " + found + ": continue that run (optResumeFrom"
                    + " a checkpoint of it; the command line's --resume) or choose a new output directory");
        }
    }

    /** A builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The optimizer (for its state and counters). */
    public ResumableOptimizer getOptimizer() {
        return optimizer;
    }

    /**
     * bf16 moments live in the fused CPU step's memory: a run on a GPU (chosen by {@code auto} or a
     * device list, which the config cannot see) is refused before anything trains.
     */
    private static void requireStateOnCpu(TrainConfig config, List<Device> devices) {
        StateDType stateDType = config.optimizer().stateDType();
        InvalidFieldException.require(stateDType == StateDType.FP32 || devices.stream().noneMatch(Device::isGpu),
                "state_dtype", stateDType.id() + " runs on the CPU only (the fused CPU step), and this run trains on "
                        + devices);
    }

    /** The replicas of data-parallel training (one without {@code optDevices}). */
    DataParallel replicas() {
        return replicas;
    }

    /** Optimizer steps completed so far. */
    public long getGlobalStep() {
        return globalStep;
    }

    /** The total optimizer steps of the run. */
    public int getTotalSteps() {
        return totalSteps;
    }

    /** The trainable parameters by name. */
    public Map<String, Parameter> getTrainableParameters() {
        return trainable;
    }

    /**
     * Trains up to the configured number of steps, evaluating and checkpointing on the way and at
     * the end.
     *
     * @return the run's summary
     * @throws UncheckedIOException when the metrics cannot be written
     */
    public TrainResult run() {
        return runUntil(totalSteps);
    }

    /**
     * Trains up to step {@code stopStep} (at most the total) and writes a checkpoint there, as an
     * interrupted run would have; the learning rate schedule still spans the whole run.
     *
     * @param stopStep the step to stop after
     * @return the summary so far
     */
    public TrainResult runUntil(long stopStep) {
        long end = Math.min(stopStep, totalSteps);
        Path out = config.run().outputDir();
        Path metricsFile = out.resolve(METRICS_FILE);
        List<Double> losses = new ArrayList<>();
        long startNanos = System.nanoTime();
        // float16 base weights: recompute each layer in the backward pass rather than keep its widened weights
        StepRunner runner = new StepRunner(task, replicas, config.run().fp16Frozen());
        try (MetricsWriter metrics = MetricsWriter.openAfter(metricsFile, globalStep)) {
            EvaluationListener evaluation = new EvaluationListener(task, manager, evalExamples,
                    config.batch().microBatch(), padId, evalHook, config.run().evalInterval(), metrics);
            CheckpointListener checkpoints = new CheckpointListener(this::saveCheckpoint,
                    config.run().checkpointInterval());
            ProgressListener progressListener = new ProgressListener(Objects.requireNonNull(progress.create(
                    globalStep, totalSteps, config.run().logInterval(), task.throughputUnit()),
                    "the progress factory returned null"));
            // the checkpoint before the evaluation: an evaluation that fails does not cost the run its checkpoint
            List<StepListener> listeners = new ArrayList<>(List.of(new MetricsListener(metrics), progressListener,
                    checkpoints, evaluation));
            try {
                while (globalStep < end) {
                    StepListener.StepRecord record = step(runner, end);
                    losses.add(record.loss());
                    listeners.forEach(l -> l.afterStep(record));
                }
            } catch (RuntimeException | Error e) {
                progressListener.finishAfterFailure(); // a bar ends its line, so that the error starts on its own
                throw e;
            }
            listeners.forEach(l -> l.afterRun(globalStep));
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            double[] lossArray = losses.stream().mapToDouble(Double::doubleValue).toArray();
            double finalLoss = lossArray.length > 0 ? lossArray[lossArray.length - 1] : Double.NaN;
            return new TrainResult(globalStep, finalLoss, lossArray, evaluation.last(), skippedSteps,
                    MethodSetup.trainableCount(task.model()), optimizer.stateBytes(), seconds, checkpoints.last(),
                    optimizer.getSkippedSteps());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + metricsFile, e);
        }
    }

    private StepListener.StepRecord step(StepRunner runner, long end) {
        float lr = schedule.valueAfter(globalStep);
        Engine.getInstance().setRandomSeed((int) (config.run().seed() + globalStep));
        long t0 = System.nanoTime();
        StepRunner.Passes passes;
        double norm;
        long optimizerNanos;
        try (NDManager stepManager = manager.newSubManager()) {
            passes = runner.run(stepManager, batches.nextStep(), scaler.scale());
            long t1 = System.nanoTime();
            norm = passes.supervisedTokens() == 0 ? skipEmptyStep() : applyGradients(passes.loss(), lr);
            optimizerNanos = System.nanoTime() - t1;
        }
        globalStep++;
        double seconds = Math.max(1e-9, (System.nanoTime() - t0) / 1e9);
        // the epochs done once this step has read its batches, as the step number counts it done
        return new StepListener.StepRecord(globalStep, epochsDone(), passes.loss(), lr, norm, passes.tokens() / seconds,
                seconds, optimizerNanos / 1e9, globalStep == end);
    }

    /**
     * Skips a step whose batches score no token (every label ignored, or only first positions,
     * which a causal LM never scores): nothing to learn from, and no overflow, so the loss scale
     * stays as it is.
     *
     * @return NaN, the step's gradient norm
     */
    private double skipEmptyStep() {
        skippedSteps++;
        LOGGER.warn("step {}: its batches score no token (every label is ignored); step skipped ({} so far)",
                globalStep + 1, skippedSteps);
        return Double.NaN;
    }

    /**
     * Unscales and clips the accumulated gradients and steps the optimizer at {@code lr}, or skips
     * the step (optimizer untouched) when the loss or the norm is not finite; either way the
     * gradients are zeroed here, the one place that does it.
     *
     * @return the gradient norm before clipping
     */
    private double applyGradients(double loss, float lr) {
        // gradient handles stay with their weights (optimizer state is created like them) and are
        // closed right after the update
        Map<String, NDArray> grads = new LinkedHashMap<>();
        for (Parameter p : trainable.values()) {
            grads.put(p.getId(), p.getArray().getGradient());
        }
        try {
            if (scaler.isEnabled()) {
                for (NDArray g : grads.values()) {
                    g.divi((float) scaler.scale());
                }
            }
            double norm = Finiteness.isFinite(loss)
                    ? GradientClipping.clipByGlobalNorm(grads.values(), config.run().clipNorm())
                    : Double.NaN;
            if (Finiteness.isFinite(loss) && Finiteness.isFinite(norm)) {
                for (Parameter p : trainable.values()) {
                    optimizer.update(p.getId(), p.getArray(), grads.get(p.getId()), lr);
                }
                replicas.copyPrimaryToReplicas();
                scaler.onGoodStep();
            } else {
                String culprit = firstNonFinite(grads);
                skippedSteps++;
                scaler.onOverflow();
                LOGGER.warn("step {}: loss {} / gradient norm {} is not finite{}; step skipped ({} so far)",
                        globalStep + 1, loss, norm, culprit, skippedSteps);
            }
            return norm;
        } finally {
            for (Parameter p : trainable.values()) {
                Gradients.zero(p.getArray());
            }
            grads.values().forEach(NDArray::close);
        }
    }

    /** Names the first parameter whose gradient holds NaN or infinity, for the log. */
    private String firstNonFinite(Map<String, NDArray> grads) {
        for (Map.Entry<String, Parameter> e : trainable.entrySet()) {
            if (!Finiteness.isAllFinite(grads.get(e.getValue().getId()))) {
                return " (first in " + e.getKey() + ")";
            }
        }
        return "";
    }

    private double epochsDone() {
        DataPosition p = batches.position();
        return p.epoch() + (double) p.index() / trainExamples.size();
    }

    /** The directory of the checkpoint after {@code step}. */
    public static Path checkpointDir(Path outputDir, long step) {
        return outputDir.resolve(CHECKPOINTS_DIR).resolve(Checkpoints.name(step));
    }

    private Path saveCheckpoint() {
        Path dir = checkpointDir(config.run().outputDir(), globalStep);
        TrainerState state = new TrainerState(globalStep, batches.position(), config.run().seed(), scaler.scale(),
                scaler.goodSteps(), skippedSteps, fingerprint, config.method().id(), config.toString());
        TrainingCheckpoint.save(dir, task.model(), config.method(), optimizer, state, identity, baseModel,
                task.peftTaskType());
        int keep = config.run().keepCheckpoints();
        if (keep > 0) {
            CheckpointRetention.keepNewest(dir.getParent(), keep, dir);
        }
        checkpointPublished.accept(dir);
        return dir;
    }

    /** Frees the optimizer state and the replicas' copies. */
    @Override
    public void close() {
        optimizer.close();
        replicas.close();
    }

    /** Builds a {@link TrainingEngine}; task, config, manager and training examples are required. */
    public static final class Builder {
        private TrainTask task;
        private TrainConfig config;
        private NDManager manager;
        private List<Example> trainExamples = List.of();
        private List<Example> evalExamples = List.of();
        private long padId;
        private EvalHook evalHook;
        private Path resumeDir;
        private String baseModel = "";
        private double initialLossScale = LossScaler.DEFAULT_INITIAL_SCALE;
        private int lossScaleGrowthInterval = LossScaler.DEFAULT_GROWTH_INTERVAL;
        private List<Device> devices = List.of();
        private Optional<Boolean> concurrentReplicas = Optional.empty();
        private ProgressReporter.Factory progress = ProgressReporter.Factory.standard();
        private Consumer<Path> checkpointPublished = dir -> { };

        private Builder() {}

        /** The task (model and loss). */
        public Builder setTask(TrainTask task) {
            this.task = task;
            return this;
        }

        /** The run settings. */
        public Builder setConfig(TrainConfig config) {
            this.config = config;
            return this;
        }

        /** The manager holding the model's weights; steps run in its sub-managers. */
        public Builder setManager(NDManager manager) {
            this.manager = manager;
            return this;
        }

        /** The training examples. */
        public Builder setTrainExamples(List<Example> examples) {
            this.trainExamples = examples;
            return this;
        }

        /** Evaluation examples (eval loss and perplexity); none by default. */
        public Builder optEvalExamples(List<Example> examples) {
            this.evalExamples = examples;
            return this;
        }

        /** The id written into padding (masked out); 0 by default. */
        public Builder optPadId(long padId) {
            this.padId = padId;
            return this;
        }

        /** Task metrics computed at every evaluation. */
        public Builder optEvalHook(EvalHook evalHook) {
            this.evalHook = evalHook;
            return this;
        }

        /** A checkpoint directory to resume from. */
        public Builder optResumeFrom(Path resumeDir) {
            this.resumeDir = resumeDir;
            return this;
        }

        /** The base model written into adapter configs. */
        public Builder optBaseModel(String baseModel) {
            this.baseModel = Objects.requireNonNull(baseModel, "baseModel");
            return this;
        }

        /** The dynamic loss scaler's first scale and growth interval (fp16 only). */
        public Builder optLossScaling(double initialScale, int growthInterval) {
            this.initialLossScale = initialScale;
            this.lossScaleGrowthInterval = growthInterval;
            return this;
        }

        /**
         * Trains data parallel on {@code devices}, one replica each; the first must be the manager's
         * device, where the model and the optimizer state live. {@code --micro-batch} counts the
         * examples of one replica's pass, so a step takes global batch / (micro-batch x devices)
         * passes on every replica. A device may repeat (two replicas on one CPU train exactly as two
         * GPUs would). Empty (the default): the manager's device alone.
         */
        public Builder optDevices(List<Device> devices) {
            this.devices = List.copyOf(devices);
            return this;
        }

        /**
         * How each run reports its progress; by default a bar on an interactive console, else a log
         * line every {@code logInterval} steps ({@link ProgressReporter.Factory#standard()}). {@link
         * ProgressReporter.Factory#silent()} turns it off. A reporter that throws is logged and dropped;
         * the run goes on.
         */
        public Builder optProgress(ProgressReporter.Factory progress) {
            this.progress = Objects.requireNonNull(progress, "progress");
            return this;
        }

        /**
         * What to do after each checkpoint is published whole (and {@code optKeepCheckpoints} has
         * deleted the older ones): {@code published} gets its directory, {@code
         * checkpoints/step-NNNNNN}. The command line frees the outputs of the run that {@code
         * --overwrite} replaces here. An exception it throws ends the run, after the checkpoint.
         */
        public Builder optCheckpointPublished(Consumer<Path> published) {
            this.checkpointPublished = Objects.requireNonNull(published, "published");
            return this;
        }

        /** Whether each replica runs on its own thread; by default only on GPUs. */
        Builder optConcurrentReplicas(boolean concurrent) {
            this.concurrentReplicas = Optional.of(concurrent);
            return this;
        }

        /**
         * Prepares the model for the method, builds the optimizer and restores a checkpoint when
         * resuming.
         *
         * @throws InvalidInputException for unusable data or a checkpoint that does not fit
         */
        public TrainingEngine build() {
            Objects.requireNonNull(task, "task");
            Objects.requireNonNull(config, "config");
            Objects.requireNonNull(manager, "manager");
            return new TrainingEngine(this);
        }
    }
}
