package ai.lorapro.cli;

import ai.djl.Device;
import ai.lorapro.InvalidInputException;
import ai.lorapro.optim.FusedKernels;
import ai.lorapro.plot.LossCurvePlot;
import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.tasks.glue.GlueFiles;
import ai.lorapro.tasks.glue.GlueTask;
import ai.lorapro.train.Method;
import ai.lorapro.train.OutputPaths;
import ai.lorapro.train.TrainConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * {@code lorapro train}: parses the options into a {@link TrainConfig}, one mixin per settings record
 * ({@link LoraOptions}, {@link OptimizerOptions}, {@link ScheduleOptions}, {@link BatchOptions}, {@link
 * RunOptions}), checks the input paths and hands the {@link TrainJob} to a {@link TrainLauncher}.
 * Defaults come from the records.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Fine-tune a Hugging Face model with full fine-tuning, LoRA or LoRA-Pro: a causal LM (Llama) on"
                + " JSON lines, or with --task one of the paper's tasks (GLUE on T5, instruction tuning on Llama,"
                + " image classification on CLIP)."})
public final class TrainCommand implements Callable<Integer>, FieldOptions {

    private final Launcher launcher;

    @Spec
    private CommandSpec spec;

    @Option(names = "--task", paramLabel = "TASK", converter = LowerCase.class,
            description = "One of the paper's tasks: glue-sst2, glue-mnli, glue-cola, glue-qnli, glue-mrpc,"
                    + " metamath, codefeedback, wizardlm, image-folder (--data in that task's format; see"
                    + " docs/tasks.md). Default: JSON lines on a causal LM.")
    private String task;

    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "Hugging Face model directory (config.json, *.safetensors).")
    private Path model;

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "Training data: JSON lines of {\"prompt\",\"response\"} or {\"text\"}; with --task that"
                    + " task's format (a GLUE task directory, an image folder: docs/tasks.md).")
    private Path data;

    @Option(names = "--eval-data", paramLabel = "FILE",
            description = "Evaluation data in the same format.")
    private Path evalData;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory for checkpoints, the adapter and metrics.")
    private Path out;

    @Option(names = "--run-name", paramLabel = "NAME",
            description = "Write into DIR/NAME instead of DIR; a single path segment.")
    private String runName;

    @Option(names = "--tokenizer", paramLabel = "FILE",
            description = "tokenizer.json to use instead of the model directory's.")
    private Path tokenizer;

    @Option(names = "--resume", paramLabel = "DIR",
            description = "Checkpoint directory to resume from.")
    private Path resume;

    @Option(names = "--method", paramLabel = "M", completionCandidates = EnumNames.Methods.class,
            description = "One of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String method = EnumNames.of(Method.LORA_PRO);

    @Mixin
    private LoraOptions lora = new LoraOptions();

    @Mixin
    private OptimizerOptions optimizer = new OptimizerOptions();

    @Mixin
    private ScheduleOptions schedule = new ScheduleOptions();

    @Mixin
    private BatchOptions batch = new BatchOptions();

    @Mixin
    private RunOptions run = new RunOptions();

    @Option(names = "--devices", paramLabel = "IDS",
            description = "With --device gpu: train data parallel on these GPUs (0,1,... or all; the model and the"
                    + " optimizer state on the first). --micro-batch is per GPU: global batch = micro-batch x GPUs x"
                    + " accumulation steps.")
    private String devices;

    @Option(names = "--overwrite",
            description = "Replace the checkpoints and metrics of a previous run in --out.")
    private boolean overwrite;

    @Option(names = "--skip-bad-lines",
            description = "Skip and count malformed data lines instead of failing.")
    private boolean skipBadLines;

    @Override
    public Map<String, String> flags() {
        return Map.of("method", "--method", "output_dir", "--out", "base_model", "--model", "dataset", "--data",
                "task", "--task", "tokenizer_file", "--tokenizer");
    }

    /** Runs a parsed training job: a {@link TrainLauncher}, or a test's stand-in. */
    @FunctionalInterface
    public interface Launcher {
        /**
         * Trains as {@code job} says.
         *
         * @param job the run's settings, input files and task
         * @param checkpointPublished to be given each checkpoint's directory once it is published
         *     whole ({@code TrainingEngine.Builder.optCheckpointPublished})
         */
        void launch(TrainJob job, Consumer<Path> checkpointPublished);
    }

    /**
     * The command, handing parsed jobs to {@code launcher}.
     *
     * @param launcher runs the training job: a {@link TrainLauncher}, or a test's stand-in
     */
    public TrainCommand(Launcher launcher) {
        this.launcher = Objects.requireNonNull(launcher, "launcher");
    }

    /**
     * Builds the job from the options and launches it.
     *
     * @return {@link ExitCodes#OK} when training finished
     * @throws Exception from the launcher; {@link InvalidInputException} for bad options or paths
     */
    @Override
    public Integer call() throws Exception {
        TrainJob job = toJob();
        checkOptionCombinations(job);
        if (job.config().method() == Method.LORA_PRO) {
            // a mistyped -Dlorapro.fused.kernel is refused before the run directory is touched
            FusedKernels.active();
        }
        try (RunDirectory run = RunDirectory.claim(job.config().run().outputDir(), resume, overwrite)) {
            if (RunDirectory.continues(job.config().run().outputDir(), resume)) {
                // checked here, not in toJob: a crashed --overwrite run's set-aside checkpoints are back now
                requireDirectory(resume, "--resume");
            }
            TrainingDivergedException diverged = null;
            try {
                // the run's first checkpoint frees what --overwrite set aside
                launcher.launch(job, run::checkpointPublished);
            } catch (TrainingDivergedException e) {
                // reported once the run's directory is complete: its loss curve shows where it went
                diverged = e;
            }
            // under the lock: a run started next into this directory removes temporary files
            writePlot(job.config().run().outputDir());
            run.completed();
            if (diverged != null) {
                throw diverged;
            }
        }
        return ExitCodes.OK;
    }

    /**
     * Refuses {@code --resume} with {@code --overwrite} (one continues the checkpoints, the other
     * replaces them), and warns about options that the rest of the command line makes idle, so
     * that a typo or a forgotten option does not go unseen.
     */
    private void checkOptionCombinations(TrainJob job) {
        if (resume != null && overwrite) {
            throw new InvalidInputException("--resume continues the run's checkpoints and --overwrite replaces them:"
                    + " pass one of them");
        }
        Method method = job.config().method();
        String withMethod = "with --method " + method.id();
        new IdleOptions(spec)
                .when(job.inputs().evalData() == null, List.of("--eval-interval"), "without --eval-data")
                .when(resume == null, List.of("--allow-resume-change"), "without --resume")
                // a new run without intervals writes one checkpoint, at its end
                .when(resume == null && job.config().run().checkpointInterval() == 0, List.of("--keep-checkpoints"),
                        "without --checkpoint-interval")
                .when(!method.usesAdapters(),
                        List.of("--r", "--alpha", "--rslora", "--lora-dropout", "--target-modules"), withMethod)
                // X is LoRA-Pro's; Adam's settings are not SGD's
                .when(method == Method.FULL || method == Method.LORA, List.of("--x-mode"), withMethod)
                .when(method == Method.LORA_PRO_SGD, List.of("--beta1", "--beta2", "--eps"), withMethod)
                .print(spec.commandLine().getErr());
    }

    /** The loss curves of the finished run as PNG; a plot that cannot be drawn only warns. */
    private void writePlot(Path runDir) {
        try {
            LossCurvePlot.writeTrainingCurves(runDir);
        } catch (IOException | RuntimeException e) {
            spec.commandLine().getErr().println("lorapro: cannot write the loss plot in " + runDir + ": " + e);
        }
    }

    /**
     * The job the options describe, with the input paths checked.
     *
     * @throws InvalidInputException naming the option of the first bad value or path
     */
    TrainJob toJob() {
        requireDirectory(model, "--model");
        Path trainFile = data;
        Path evalFile = evalData;
        boolean imageFolder = "image-folder".equals(task) || task == null && ModelFiles.trainsOnDirectories(model);
        if ("image-folder".equals(task)) {
            requireDirectory(data, "--data");
        } else if (task != null && task.startsWith("glue-") && Files.isDirectory(data)) {
            // the GLUE distribution's task directory: train.tsv, and dev.tsv (MNLI: dev_matched.tsv) for eval
            GlueTask glue = GlueTask.fromName(task);
            trainFile = GlueFiles.train(data);
            if (evalFile == null && GlueFiles.hasDev(data, glue)) {
                evalFile = GlueFiles.dev(data, glue);
            }
        } else if (task == null && ModelFiles.trainsOnDirectories(model) && !Files.isDirectory(data)) {
            // a CLIP model trains on an image folder; without this, the folder's train/ would be missing
            throw new InvalidInputException("--data: " + data + " is not a directory: "
                    + ModelFiles.config(model).modelType() + " models train on an image folder"
                    + " (DIR/train/<class>/<image>), not on JSON lines; see docs/tasks.md");
        } else if (task != null || !Files.isDirectory(data) || !ModelFiles.trainsOnDirectories(model)) {
            requireFile(data, "--data");
        }
        if (evalData != null && imageFolder) {
            // the test images, DIR/<class>/<image>, instead of --data's test/
            requireDirectory(evalData, "--eval-data");
        } else if (evalData != null) {
            requireFile(evalData, "--eval-data");
        }
        if (tokenizer != null) {
            requireFile(tokenizer, "--tokenizer");
        }
        new OutputDirectoryGuard("--out", out).requireUsable();
        if (runName != null && RunDirectory.isOutputName(runName)) {
            throw new InvalidInputException("--run-name " + runName + " is the name of a run's own output; choose"
                    + " another name");
        }
        Path outputDir = runName == null ? out : OutputPaths.resolveChild(out, runName,
                "--run-name");
        // the run's own directory is the one that must not be, or lie in, the model's
        new OutputDirectoryGuard(runName == null ? "--out" : "--out/--run-name", outputDir)
                .protect("--model", model).requireUsable();
        if (overwrite) {
            Map<String, Path> inputs = new LinkedHashMap<>();
            inputs.put("--model", model);
            inputs.put("--data", data);
            inputs.put("--eval-data", evalData);
            inputs.put("--tokenizer", tokenizer);
            RunDirectory.requireNoInputInOutputs(outputDir, inputs);
        }
        if (resume != null && !RunDirectory.continues(outputDir, resume)) {
            // one of the run's own checkpoints is checked once the directory is claimed (call)
            requireDirectory(resume, "--resume");
        }
        TrainConfig config = new TrainConfig(EnumNames.parse(Method.class, "--method", method),
                lora.toConfig(run.seed), optimizer.toConfig(), schedule.toConfig(), batch.toConfig(),
                run.toConfig(outputDir));
        return new TrainJob(config, new TrainInputs(model, tokenizer, trainFile, evalFile, resume, skipBadLines,
                dataParallelDevices(config)), task);
    }

    /**
     * The GPUs of {@code --devices}, or none without it.
     *
     * @throws InvalidInputException naming the options when --device is cpu, the global batch does
     *     not split over the GPUs, or a GPU is not present
     */
    private List<Device> dataParallelDevices(TrainConfig config) {
        if (devices == null) {
            return List.of();
        }
        List<Integer> ids = DeviceList.parse(config.run().device(), devices);
        if (!ids.isEmpty()) {
            DeviceList.requireDivisible(config.batch().globalBatch(), config.batch().microBatch(), ids.size());
        }
        List<Device> gpus = DeviceList.resolve(devices, ids);
        if (ids.isEmpty()) { // "all": the count is known only now
            DeviceList.requireDivisible(config.batch().globalBatch(), config.batch().microBatch(), gpus.size());
        }
        return gpus;
    }

    private static void requireDirectory(Path path, String option) {
        if (!Files.isDirectory(path)) {
            throw new InvalidInputException(option + ": " + path + " is not a directory");
        }
    }

    private static void requireFile(Path path, String option) {
        if (!Files.isRegularFile(path)) {
            throw new InvalidInputException(option + ": " + path + " is not a file");
        }
    }
}
