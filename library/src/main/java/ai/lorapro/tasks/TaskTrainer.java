package ai.lorapro.tasks;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.TokenizerFit;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.data.jsonl.TextRecord;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.t5.T5Family;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.tasks.glue.GlueEvaluation;
import ai.lorapro.tasks.glue.GlueExample;
import ai.lorapro.tasks.glue.GlueFiles;
import ai.lorapro.tasks.glue.GlueReader;
import ai.lorapro.tasks.glue.GlueTask;
import ai.lorapro.tasks.instruct.InstructionFormat;
import ai.lorapro.tasks.instruct.InstructionReader;
import ai.lorapro.tasks.vision.ImageClassification;
import ai.lorapro.tasks.vision.ImageClassificationTask;
import ai.lorapro.tasks.vision.ImageFolder;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainTask;
import ai.lorapro.train.TrainingEngine;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Trains one of the paper's tasks on the {@link TrainingEngine}: reads the task's data into
 * examples, loads the task's model, runs the engine with the task's loss, and evaluates the task's
 * metric at the end when evaluation data is there (written to {@code <output>/eval/}).
 *
 * <ul>
 *   <li>{@code glue-sst2|glue-mnli|glue-cola|glue-qnli|glue-mrpc}: T5, GLUE TSV or JSON lines,
 *       text-to-text, dev accuracy by greedy decoding;
 *   <li>{@code metamath|codefeedback|wizardlm}: Llama, instruction data in the Alpaca template,
 *       loss on the response, eval loss on the evaluation file;
 *   <li>{@code image-folder}: CLIP with a zero-shot head, {@code <root>/train}, test accuracy on
 *       {@code <root>/test}.
 * </ul>
 */
public final class TaskTrainer {

    /** The name of the image-classification task. */
    public static final String IMAGE_FOLDER = "image-folder";

    /** How each named task trains, by its command-line name. */
    private static final Map<String, Recipe> RECIPES = recipes();

    /** The training task names, as on the command line. */
    public static final List<String> TASKS = List.copyOf(RECIPES.keySet());

    /** The evaluation outputs' directory inside the run's output directory. */
    public static final String EVAL_DIR = "eval";

    /** Label words are short: targets are cut to this many tokens. */
    private static final int MAX_TARGET_TOKENS = 16;
    private static final int EVAL_BATCH = 16;

    private TaskTrainer() {}

    /**
     * The result of a task run.
     *
     * @param train what the engine reports
     * @param metrics the task metric after training (empty without evaluation data)
     * @param skipped bad records skipped while reading
     */
    public record Result(TrainResult train, Map<String, Object> metrics, int skipped) {}

    /**
     * Trains a task.
     *
     * @param task a name of {@link #TASKS}
     * @param config the run settings (method, rank, learning rate, batch, output directory...)
     * @param inputs the model and data
     * @return the training result and the task metric
     * @throws InvalidInputException for an unknown task or unusable model or data files
     */
    public static Result train(String task, TrainConfig config, TrainInputs inputs) {
        return train(task, config, inputs, dir -> { });
    }

    /**
     * Trains a task, telling {@code checkpointPublished} of each checkpoint the run publishes (see
     * {@link TrainingEngine.Builder#optCheckpointPublished}).
     *
     * @param task a name of {@link #TASKS}
     * @param config the run settings (method, rank, learning rate, batch, output directory...)
     * @param inputs the model and data
     * @param checkpointPublished gets each checkpoint's directory once it is published whole
     * @return the training result and the task metric
     * @throws InvalidInputException for an unknown task or unusable model or data files
     */
    public static Result train(String task, TrainConfig config, TrainInputs inputs,
            Consumer<Path> checkpointPublished) {
        Objects.requireNonNull(checkpointPublished, "checkpointPublished");
        Recipe recipe = RECIPES.get(task.toLowerCase(Locale.ROOT));
        if (recipe == null) {
            throw new InvalidInputException("unknown training task \"" + task + "\" (expected one of "
                    + String.join(", ", TASKS) + ")");
        }
        return recipe.train(config, inputs, checkpointPublished);
    }

    /** Trains one named task. */
    @FunctionalInterface
    private interface Recipe {
        Result train(TrainConfig config, TrainInputs inputs, Consumer<Path> published);
    }

    private static Map<String, Recipe> recipes() {
        Map<String, Recipe> recipes = new LinkedHashMap<>();
        for (GlueTask glue : GlueTask.values()) {
            recipes.put(glue.cliName(), (config, inputs, published) -> glue(glue, config, inputs, published));
        }
        for (InstructionFormat format : InstructionFormat.values()) {
            recipes.put(format.cliName(), (config, inputs, published) -> instruction(format, config, inputs, published));
        }
        recipes.put(IMAGE_FOLDER, TaskTrainer::imageFolder);
        return recipes;
    }

    private static HfTokenizer tokenizer(TrainInputs inputs) {
        Path file = inputs.tokenizerFile() != null ? inputs.tokenizerFile() : inputs.modelDir().resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new InvalidFieldException("tokenizer_file", "is needed: " + file + " does not exist");
        }
        return HfTokenizer.load(file);
    }

    private static DataType frozenType(TrainConfig config) {
        return config.run().fp16Frozen() ? DataType.FLOAT16 : DataType.FLOAT32;
    }

    private static TrainResult run(TrainConfig config, NDManager manager, TrainTask task, List<Example> train,
            List<Example> eval, long padId, TrainInputs inputs, Consumer<Path> published) {
        try (TrainingEngine engine = TrainingEngine.builder()
                .setTask(task)
                .setConfig(config)
                .setManager(manager)
                .setTrainExamples(train)
                .optEvalExamples(eval)
                .optPadId(padId)
                .optResumeFrom(inputs.resumeDir())
                .optBaseModel(inputs.modelDir().toString())
                .optDevices(inputs.devices())
                .optCheckpointPublished(published)
                .build()) {
            return engine.run();
        }
    }

    private static Result glue(GlueTask task, TrainConfig config, TrainInputs inputs,
            Consumer<Path> published) {
        BadRecords bad = BadRecords.of(inputs.skipBadRecords());
        // the evaluation's skipped records are counted apart: its metrics.json reports them alone
        BadRecords badDev = BadRecords.of(inputs.skipBadRecords());
        // a GLUE task directory as the distribution ships it: train.tsv, and its dev file for evaluation
        Path evalData = inputs.evalData() != null ? GlueFiles.dev(inputs.evalData(), task)
                : GlueFiles.hasDev(inputs.data(), task) ? GlueFiles.dev(inputs.data(), task) : null;
        Records<GlueExample> train = GlueReader.read(task, GlueFiles.train(inputs.data()), bad);
        Records<GlueExample> dev = evalData == null ? null : GlueReader.read(task, evalData, badDev);
        try (HfTokenizer tokenizer = tokenizer(inputs);
                NDManager manager = NDManager.newBaseManager(inputs.modelDevice(config.run().device()))) {
            T5ForConditionalGeneration model = TaskModels.load(inputs.modelDir(), manager, frozenType(config),
                    T5ForConditionalGeneration.class, task.cliName());
            TokenizerFit.require(tokenizer, model.getConfig().vocabSize());
            Seq2SeqExamples encoder = new Seq2SeqExamples(TaskTokenizers.encoder(tokenizer, new T5Family.Architecture(model.getConfig())),
                    config.batch().maxSeqLength(), MAX_TARGET_TOKENS);
            List<Example> trainExamples = GlueEvaluation.trainingExamples(train.records(), encoder);
            List<Example> evalExamples = dev == null ? List.of() : GlueEvaluation.trainingExamples(dev.records(), encoder);
            TrainResult result = run(config, manager, new Seq2SeqLmTask(model), trainExamples, evalExamples,
                    model.getConfig().padTokenId(), inputs, published);
            Map<String, Object> metrics = Map.of();
            if (dev != null) {
                TextGenerator generator = new T5TextGenerator(model, tokenizer, manager, config.batch().maxSeqLength(),
                        MAX_TARGET_TOKENS, EVAL_BATCH);
                metrics = GlueEvaluation.evaluate(task, dev.records(), generator)
                        .write(config.run().outputDir().resolve(EVAL_DIR), Map.of("skipped", badDev.skipped()));
            }
            return new Result(result, metrics, bad.skipped() + badDev.skipped());
        }
    }

    private static Result instruction(InstructionFormat format, TrainConfig config, TrainInputs inputs,
            Consumer<Path> published) {
        BadRecords bad = BadRecords.of(inputs.skipBadRecords());
        Records<TextRecord> train = InstructionReader.read(format, inputs.data(), false, bad);
        Records<TextRecord> eval = inputs.evalData() == null ? null
                : InstructionReader.read(format, inputs.evalData(), false, bad);
        try (HfTokenizer tokenizer = tokenizer(inputs);
                NDManager manager = NDManager.newBaseManager(inputs.modelDevice(config.run().device()))) {
            CausalLanguageModel model = TaskModels.load(inputs.modelDir(), manager, frozenType(config),
                    CausalLanguageModel.class, format.cliName());
            ModelArchitecture architecture = ModelFamilies.readModelDir(inputs.modelDir());
            TokenizerFit.require(tokenizer, architecture.vocabSize());
            TextEncoder encoder = TaskTokenizers.encoder(tokenizer, architecture);
            List<Example> trainExamples = InstructionReader.examples(inputs.data(), train.records(), encoder,
                    config.batch().maxSeqLength());
            List<Example> evalExamples = eval == null ? List.of()
                    : InstructionReader.examples(inputs.evalData(), eval.records(), encoder, config.batch().maxSeqLength());
            TrainResult result = run(config, manager, new CausalLmTask(model), trainExamples, evalExamples,
                    encoder.effectivePadId(), inputs, published);
            return new Result(result, Map.of(), bad.skipped());
        }
    }

    private static Result imageFolder(TrainConfig config, TrainInputs inputs, Consumer<Path> published) {
        BadRecords bad = BadRecords.of(inputs.skipBadRecords());
        Path root = inputs.data();
        List<String> classes = ImageFolder.classesOf(root.resolve("train"));
        ImageFolder train = ImageFolder.scan(root.resolve("train"), classes, bad);
        Path testDir = inputs.evalData() != null ? inputs.evalData() : root.resolve("test");
        BadRecords badTest = BadRecords.of(inputs.skipBadRecords()); // reported alone in the test metrics
        if (inputs.evalData() != null && !Files.isDirectory(testDir)) {
            throw new InvalidInputException("evaluation data " + testDir + " is not a directory of class folders");
        }
        // without evaluation data given, <data>/test is evaluated when it is there
        ImageFolder test = Files.isDirectory(testDir) ? ImageFolder.scan(testDir, classes, badTest) : null;
        try (HfTokenizer tokenizer = tokenizer(inputs);
                NDManager manager = NDManager.newBaseManager(inputs.modelDevice(config.run().device()))) {
            ClipModel clip = TaskModels.load(inputs.modelDir(), manager, frozenType(config), ClipModel.class,
                    IMAGE_FOLDER);
            TokenizerFit.require(tokenizer, clip.getConfig().text().vocabSize());
            Function<String, long[]> prompts = prompt -> tokenizer.encode(prompt, true);
            ClipImageClassifier classifier =
                    ClipImageClassifier.zeroShot(clip, prompts, ImageFolder.promptNames(classes), manager);
            ClipImageProcessor processor = ClipImageProcessor.forVision(clip.getConfig().vision());
            TrainTask task = new ImageClassificationTask(classifier, train.images(), processor);
            TrainResult result = run(config, manager, task, ImageClassification.examples(train.images()),
                    List.of(), 0, inputs, published);
            Map<String, Object> metrics = Map.of();
            if (test != null) {
                metrics = ImageClassification.evaluate(classifier, test.images(), processor, manager, EVAL_BATCH)
                        .write(config.run().outputDir().resolve(EVAL_DIR), classes, Map.of("skipped", badTest.skipped()));
            }
            return new Result(result, metrics, bad.skipped() + badTest.skipped());
        }
    }
}
