package ai.lorapro.cli;

import ai.djl.Device;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.OutputDirectoryGuard;
import ai.lorapro.plot.LossCurvePlot;
import ai.lorapro.tasks.glue.GlueFiles;
import ai.lorapro.tasks.glue.GlueTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.DeviceList;
import ai.lorapro.train.Method;
import ai.lorapro.train.OutputPaths;
import ai.lorapro.train.RunDirectory;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.optim.XMode;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code lorapro train}: parses the options into a {@link TrainConfig}, checks the input paths and
 * hands the {@link TrainJob} to a {@link TrainLauncher}. Defaults come from {@link TrainConfig}.
 */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Fine-tune a Hugging Face model with full fine-tuning, LoRA or LoRA-Pro: a causal LM (Llama) on"
                + " JSON lines, or with --task one of the paper's tasks (GLUE on T5, instruction tuning on Llama,"
                + " image classification on CLIP)."})
public final class TrainCommand implements Callable<Integer> {

    private static final TrainConfig DEFAULTS =
            TrainConfig.builder().setOutputDir(Path.of(".")).build();

    private final TrainLauncher launcher;

    @Spec
    private CommandSpec spec;

    @Option(names = "--task", paramLabel = "TASK",
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

    @Option(names = "--method", paramLabel = "M",
            completionCandidates = MethodNames.class,
            description = "One of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String method = DEFAULTS.getMethod().cliName();

    @Option(names = "--r", paramLabel = "N", description = "LoRA rank (default: ${DEFAULT-VALUE}).")
    private int r = DEFAULTS.getR();

    @Option(names = "--alpha", paramLabel = "X",
            description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    private float alpha = DEFAULTS.getAlpha();

    @Option(names = "--rslora", description = "Scale by alpha/sqrt(r) (rsLoRA).")
    private boolean rsLora = DEFAULTS.isRsLora();

    @Option(names = "--lora-dropout", paramLabel = "X",
            description = "LoRA dropout (default: ${DEFAULT-VALUE}).")
    private float loraDropout = DEFAULTS.getLoraDropout();

    @Option(names = "--x-mode", paramLabel = "MODE", completionCandidates = XModeNames.class,
            description = "LoRA-Pro's X: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String xMode = DEFAULTS.getXMode().id();

    @Option(names = "--state-dtype", paramLabel = "TYPE",
            description = "Storage of lora-pro's full-mode moments: fp32 or bf16 (half the memory, CPU only; "
                    + "default: ${DEFAULT-VALUE}).")
    private String stateDType = DEFAULTS.getStateDType().id();

    @Option(names = "--target-modules", split = ",", paramLabel = "NAMES",
            description = "Comma-separated module names, or all-linear (default: all-linear).")
    private List<String> targetModules = new ArrayList<>(DEFAULTS.getTargetModules());

    @Option(names = "--lr", paramLabel = "X",
            description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    private float lr = DEFAULTS.getLr();

    @Option(names = "--min-lr", paramLabel = "X",
            description = "Final cosine learning rate (default: 0).")
    private float minLr = DEFAULTS.getMinLr();

    @Option(names = "--epochs", paramLabel = "N",
            description = "Epochs (default: ${DEFAULT-VALUE}).")
    private int epochs = DEFAULTS.getEpochs();

    @Option(names = "--max-steps", paramLabel = "N",
            description = "Optimizer steps, overriding --epochs.")
    private int maxSteps = DEFAULTS.getMaxSteps();

    @Option(names = "--global-batch", paramLabel = "N",
            description = "Examples per step (default: ${DEFAULT-VALUE}).")
    private int globalBatch = DEFAULTS.getGlobalBatch();

    @Option(names = "--micro-batch", paramLabel = "N",
            description = "Examples per forward pass; gradient accumulation = global/micro "
                    + "(default: ${DEFAULT-VALUE}).")
    private int microBatch = DEFAULTS.getMicroBatch();

    @Option(names = "--warmup-ratio", paramLabel = "X",
            description = "Warm-up fraction (default: ${DEFAULT-VALUE}).")
    private double warmupRatio = DEFAULTS.getWarmupRatio();

    @Option(names = "--beta1", paramLabel = "X",
            description = "Adam beta1 (default: ${DEFAULT-VALUE}).")
    private float beta1 = DEFAULTS.getBeta1();

    @Option(names = "--beta2", paramLabel = "X",
            description = "Adam beta2 (default: ${DEFAULT-VALUE}).")
    private float beta2 = DEFAULTS.getBeta2();

    @Option(names = "--eps", paramLabel = "X",
            description = "Adam epsilon (default: ${DEFAULT-VALUE}).")
    private float eps = DEFAULTS.getEps();

    @Option(names = "--weight-decay", paramLabel = "X",
            description = "Weight decay (default: ${DEFAULT-VALUE}).")
    private float weightDecay = DEFAULTS.getWeightDecay();

    @Option(names = "--clip-norm", paramLabel = "X",
            description = "Global gradient-norm clip, 0 = off (default: ${DEFAULT-VALUE}).")
    private double clipNorm = DEFAULTS.getClipNorm();

    @Option(names = "--seed", paramLabel = "N",
            description = "Random seed (default: ${DEFAULT-VALUE}).")
    private long seed = DEFAULTS.getSeed();

    @Option(names = "--eval-interval", paramLabel = "N",
            description = "Evaluate every N steps, 0 = at the end (default: ${DEFAULT-VALUE}).")
    private int evalInterval = DEFAULTS.getEvalInterval();

    @Option(names = "--checkpoint-interval", paramLabel = "N",
            description = "Checkpoint every N steps, 0 = at the end (default: ${DEFAULT-VALUE}).")
    private int checkpointInterval = DEFAULTS.getCheckpointInterval();

    @Option(names = "--log-interval", paramLabel = "N",
            description = "Log every N steps when not on a terminal (default: ${DEFAULT-VALUE}).")
    private int logInterval = DEFAULTS.getLogInterval();

    @Option(names = "--max-seq-length", paramLabel = "N",
            description = "Truncate examples to N tokens (default: ${DEFAULT-VALUE}).")
    private int maxSeqLength = DEFAULTS.getMaxSeqLength();

    @Option(names = "--device", paramLabel = "DEVICE", completionCandidates = DeviceNames.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String device = DEFAULTS.getDevice().cliName();

    @Option(names = "--devices", paramLabel = "IDS",
            description = "With --device gpu: train data parallel on these GPUs (0,1,... or all; the model and the"
                    + " optimizer state on the first). --micro-batch is per GPU: global batch = micro-batch x GPUs x"
                    + " accumulation steps.")
    private String devices;

    @Option(names = "--fp16-frozen", description = "Hold frozen base weights in float16.")
    private boolean fp16Frozen = DEFAULTS.isFp16Frozen();

    @Option(names = "--overwrite",
            description = "Replace the checkpoints and metrics of a previous run in --out.")
    private boolean overwrite;

    @Option(names = "--allow-resume-change", split = ",", paramLabel = "FIELDS",
            description = "With --resume: settings allowed to differ from the checkpoint's (lr, total_steps, ..., all).")
    private List<String> allowedResumeChanges = new ArrayList<>();

    @Option(names = "--skip-bad-lines",
            description = "Skip and count malformed data lines instead of failing.")
    private boolean skipBadLines;

    /**
     * The command, handing parsed jobs to {@code launcher}.
     *
     * @param launcher runs the training job
     */
    public TrainCommand(TrainLauncher launcher) {
        this.launcher = launcher;
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
        try (RunDirectory run = RunDirectory.claim(job.config().getOutputDir(), resume != null, overwrite)) {
            launcher.launch(job);
            run.completed();
        }
        writePlot(job.config().getOutputDir());
        return ExitCodes.OK;
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
        if ("image-folder".equals(task)) {
            requireDirectory(data, "--data");
        } else if (task != null && task.startsWith("glue-") && Files.isDirectory(data)) {
            // the GLUE distribution's task directory: train.tsv, and dev.tsv (MNLI: dev_matched.tsv) for eval
            GlueTask glue = GlueTask.fromName(task);
            trainFile = GlueFiles.train(data);
            if (evalFile == null && GlueFiles.hasDev(data, glue)) {
                evalFile = GlueFiles.dev(data, glue);
            }
        } else if (task != null || !Files.isDirectory(data) || !ModelFiles.trainsOnDirectories(model)) {
            requireFile(data, "--data");
        }
        if (evalData != null) {
            requireFile(evalData, "--eval-data");
        }
        if (tokenizer != null) {
            requireFile(tokenizer, "--tokenizer");
        }
        if (resume != null) {
            requireDirectory(resume, "--resume");
        }
        new OutputDirectoryGuard("--out", out).requireUsable();
        Path outputDir = runName == null ? out : OutputPaths.resolveChild(out, runName,
                "--run-name");
        TrainConfig config = TrainConfig.builder()
                .optMethod(Method.fromCliName(method))
                .optR(r)
                .optAlpha(alpha)
                .optRsLora(rsLora)
                .optLoraDropout(loraDropout)
                .optXMode(parseXMode(xMode))
                .optStateDType(parseStateDType(stateDType))
                .optTargetModules(targetModules)
                .optLr(lr)
                .optMinLr(minLr)
                .optEpochs(epochs)
                .optMaxSteps(maxSteps)
                .optGlobalBatch(globalBatch)
                .optMicroBatch(microBatch)
                .optWarmupRatio(warmupRatio)
                .optBetas(beta1, beta2)
                .optEps(eps)
                .optWeightDecay(weightDecay)
                .optClipNorm(clipNorm)
                .optSeed(seed)
                .optEvalInterval(evalInterval)
                .optCheckpointInterval(checkpointInterval)
                .optLogInterval(logInterval)
                .optMaxSeqLength(maxSeqLength)
                .optDevice(DeviceChoice.fromCliName(device))
                .optFp16Frozen(fp16Frozen)
                .optAllowedResumeChanges(allowedResumeChanges)
                .setOutputDir(outputDir)
                .build();
        return new TrainJob(config, model, trainFile, evalFile, tokenizer, resume, skipBadLines, task,
                dataParallelDevices(config));
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
        List<Integer> ids = DeviceList.parse(config.getDevice(), devices);
        if (!ids.isEmpty()) {
            DeviceList.requireDivisible(config.getGlobalBatch(), config.getMicroBatch(), ids.size());
        }
        List<Device> gpus = DeviceList.resolve(devices, ids);
        DeviceList.requireDivisible(config.getGlobalBatch(), config.getMicroBatch(), gpus.size());
        return gpus;
    }

    private static XMode parseXMode(String name) {
        try {
            return XMode.fromString(name);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("--x-mode: " + e.getMessage());
        }
    }

    private static StateDType parseStateDType(String name) {
        try {
            return StateDType.fromString(name);
        } catch (InvalidInputException e) {
            throw new InvalidInputException("--state-dtype: " + e.getMessage());
        }
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

    /** The {@code --method} names for help and completion. */
    static final class MethodNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        MethodNames() {
            for (Method m : Method.values()) {
                add(m.cliName());
            }
        }
    }

    /** The {@code --x-mode} names for help and completion. */
    static final class XModeNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        XModeNames() {
            for (XMode m : XMode.values()) {
                add(m.id());
            }
        }
    }

    /** The {@code --device} names for help and completion. */
    static final class DeviceNames extends ArrayList<String> {
        private static final long serialVersionUID = 1L;

        DeviceNames() {
            for (DeviceChoice d : DeviceChoice.values()) {
                add(d.cliName());
            }
        }
    }
}
