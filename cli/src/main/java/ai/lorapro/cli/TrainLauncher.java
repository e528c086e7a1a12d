package ai.lorapro.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.tasks.DefaultTasks;
import ai.lorapro.tasks.Records;
import ai.lorapro.tasks.TaskTokenizers;
import ai.lorapro.tasks.TaskTrainer;
import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.train.MemoryCheck;
import ai.lorapro.train.MemoryEstimate;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainingCheckpoint;
import ai.lorapro.train.TrainingEngine;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Runs a parsed {@code lorapro train} job ({@link TrainJob}) on the {@link TrainingEngine}: one of the paper's tasks with
 * {@code --task} ({@link TaskTrainer}), else the model family's default task ({@link
 * DefaultTasks}). Checks config, tokenizer and data before any output is written, loads the model
 * on the chosen device and trains.
 */
public final class TrainLauncher {

    private final PrintWriter out;

    /**
     * @param out where the run's summary is printed
     */
    public TrainLauncher(PrintWriter out) {
        this.out = out;
    }

    /**
     * Trains as {@code job} says and prints a summary.
     *
     * @param job the run's settings, input files and task
     * @param checkpointPublished gets each checkpoint's directory once it is published whole
     * @throws InvalidInputException for an unknown task or unusable model, data or checkpoint
     */
    public void launch(TrainJob job, Consumer<Path> checkpointPublished) {
        if (job.task() != null) {
            trainTask(job.task(), job, checkpointPublished);
            return;
        }
        TrainConfig config = job.config();
        TrainInputs inputs = job.inputs();
        ModelArchitecture modelConfig = ModelFiles.config(inputs.modelDir());
        Optional<String> task = DefaultTasks.taskName(modelConfig.kind());
        if (task.isPresent()) {
            trainTask(task.get(), job, checkpointPublished);
            return;
        }
        if (!Files.isRegularFile(inputs.data())) {
            throw new InvalidInputException("--data: " + inputs.data() + " is not a file");
        }
        try (HfTokenizer tokenizer = ModelFiles.tokenizer(inputs.modelDir(), inputs.tokenizerFile())) {
            ModelFiles.checkFit(tokenizer, modelConfig);
            TextEncoder encoder = TaskTokenizers.encoder(tokenizer, modelConfig);
            Records<Example> train = DefaultTasks.examples(modelConfig, inputs.data(), encoder,
                    config.batch().maxSeqLength(), inputs.skipBadRecords());
            Records<Example> eval = inputs.evalData() == null ? new Records<>(List.of(), 0)
                    : DefaultTasks.examples(modelConfig, inputs.evalData(), encoder, config.batch().maxSeqLength(),
                            inputs.skipBadRecords());
            // data parallel: the model on the first of --devices
            Device device = inputs.modelDevice(config.run().device());
            MemoryCheck.report(MemoryEstimate.of(modelConfig, config), device);
            try (NDManager manager = NDManager.newBaseManager(device)) {
                DataType frozen = config.run().fp16Frozen() ? DataType.FLOAT16 : DataType.FLOAT32;
                Block model = ModelFiles.load(modelConfig, inputs.modelDir(), manager, frozen);
                try (TrainingEngine engine = TrainingEngine.builder()
                        .setTask(DefaultTasks.lossTask(modelConfig, model))
                        .setConfig(config)
                        .setManager(manager)
                        .setTrainExamples(train.records())
                        .optEvalExamples(eval.records())
                        .optPadId(encoder.effectivePadId())
                        .optResumeFrom(inputs.resumeDir())
                        .optDevices(inputs.devices())
                        .optBaseModel(inputs.modelDir().toString())
                        .optCheckpointPublished(checkpointPublished)
                        .build()) {
                    TrainResult result = engine.run();
                    out.printf(Locale.ROOT, "trained %s for %s on %s: final loss %.4f%s, %d skipped steps%s%n",
                            config.method().id(), stepsRun(result),
                            inputs.devices().isEmpty() ? device : inputs.devices(), result.finalLoss(),
                            result.finalEval().containsKey("loss")
                                    ? String.format(Locale.ROOT, ", eval loss %.4f", result.finalEval().get("loss"))
                                    : "",
                            result.skippedSteps(), badLines(inputs, train.skipped() + eval.skipped()));
                    printSkippedUpdates(result);
                    out.flush();
                    requireFiniteFinalLoss(result, config);
                    printCheckpoint(result.checkpoint(), config.method());
                    out.flush();
                }
            }
        }
    }

    /**
     * Trains {@code task} with the job's settings and files and prints a summary.
     *
     * @throws ai.lorapro.InvalidInputException for an unknown task or unusable model or data
     */
    private void trainTask(String task, TrainJob job, Consumer<Path> checkpointPublished) {
        // the same start-up estimate (and warning beyond the machine's memory) as a JSON-lines run;
        // a model directory that cannot be read is left to the task, which checks its data first
        try {
            MemoryCheck.report(MemoryEstimate.of(ModelFiles.config(job.inputs().modelDir()), job.config()),
                    job.inputs().modelDevice(job.config().run().device()));
        } catch (InvalidInputException e) {
            // named by the task below
        }
        TaskTrainer.Result result = TaskTrainer.train(task, job.config(), job.inputs(), checkpointPublished);
        out.printf(Locale.ROOT, "trained %s on %s for %s: final loss %.4f, %d skipped steps, %d bad records"
                        + " skipped%n", job.config().method().id(), task, stepsRun(result.train()),
                result.train().finalLoss(), result.train().skippedSteps(), result.skipped());
        printSkippedUpdates(result.train());
        if (!result.metrics().isEmpty()) {
            out.println("eval: " + result.metrics());
        }
        out.flush();
        requireFiniteFinalLoss(result.train(), job.config());
        printCheckpoint(result.train().checkpoint(), job.config().method());
        out.flush();
    }

    /** ", 3 bad lines skipped" with --skip-bad-lines (what task runs count as bad records), else nothing. */
    private static String badLines(TrainInputs inputs, int skipped) {
        return inputs.skipBadRecords()
                ? String.format(Locale.ROOT, ", %d bad %s skipped", skipped, skipped == 1 ? "line" : "lines")
                : "";
    }

    /** "20 steps", or "10 steps (11-20, resumed)" for a run that resumed at step 10. */
    static String stepsRun(TrainResult result) {
        long run = result.losses().length;
        String steps = run + (run == 1 ? " step" : " steps");
        return run == result.globalStep() ? steps
                : steps + " (" + (result.globalStep() - run + 1) + "-" + result.globalStep() + ", resumed)";
    }

    /** The updates the optimizer skipped inside applied steps, when there were any (each was logged). */
    private void printSkippedUpdates(TrainResult result) {
        if (result.skippedUpdates() > 0) {
            out.printf(Locale.ROOT, "%d %s skipped within applied steps (a result not finite, or that could"
                    + " overflow the moments; see the warnings above)%n", result.skippedUpdates(),
                    result.skippedUpdates() == 1 ? "parameter or LoRA pair update" : "parameter or LoRA pair updates");
        }
    }

    /**
     * Fails the command (exit 1, after {@link TrainCommand} has drawn the loss curve) when the run
     * diverged: its last loss, and at least half of the losses of this process's steps, are not
     * finite. Its checkpoint would otherwise be named as an adapter to use. A lone bad batch, even the
     * last, is not divergence: the skipped steps are in the summary above.
     */
    private static void requireFiniteFinalLoss(TrainResult result, TrainConfig config) {
        double[] losses = result.losses();
        long notFinite = Arrays.stream(losses).filter(loss -> !Double.isFinite(loss)).count();
        if (losses.length > 0 && !Double.isFinite(result.finalLoss()) && 2 * notFinite >= losses.length) {
            throw new TrainingDivergedException(String.format(Locale.ROOT, "training diverged: the loss was not finite"
                    + " in %d of the %d steps run, the last included (each such step was skipped); the checkpoint %s"
                    + " holds the factors of the last step applied: lower --lr (%s) or look at the data", notFinite,
                    losses.length, result.checkpoint(), config.schedule().lr()));
        }
    }

    /** The last checkpoint, and the adapter in it that generate, eval and merge take as --adapter. */
    private void printCheckpoint(Path checkpoint, Method method) {
        out.println("checkpoint: " + checkpoint);
        if (checkpoint != null && method.usesAdapters()) {
            out.println("adapter (PEFT, for --adapter): " + checkpoint.resolve(TrainingCheckpoint.ADAPTER_DIR));
        }
    }
}
