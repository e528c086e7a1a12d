package ai.lorapro.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.tasks.DefaultTasks;
import ai.lorapro.tasks.Records;
import ai.lorapro.tasks.EvalSettings;
import ai.lorapro.tasks.TaskTokenizers;
import ai.lorapro.tasks.glue.GlueFiles;
import ai.lorapro.tasks.glue.GlueTask;
import ai.lorapro.tasks.TaskEvaluator;
import ai.lorapro.train.Evaluator;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code lorapro eval}: the loss and perplexity of a model, optionally with an adapter, on a data file. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluation loss and perplexity of a model (and adapter) on a JSON-lines file, or with --task"
                + " the metric of one of the paper's tasks.")
public final class EvalCommand implements Callable<Integer>, FieldOptions {

    @Spec
    private CommandSpec spec;

    @Mixin
    private ModelOptions modelOptions;

    @Option(names = "--data", required = true, paramLabel = "PATH",
            description = "JSON lines of {\"prompt\",\"response\"} or {\"text\"}; with --task that task's format"
                    + " (for GLUE a dev file or the task directory).")
    private Path data;

    @Option(names = "--batch", paramLabel = "N", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    private int batch = 8;

    @Mixin
    private MaxSeqLengthOption maxSeqLength = new MaxSeqLengthOption();

    @Option(names = "--task", paramLabel = "TASK", converter = LowerCase.class,
            description = "One of the paper's evaluations: glue-sst2, glue-mnli, glue-cola, glue-qnli, glue-mrpc,"
                    + " gsm8k, humaneval, mt-bench, image-folder (--data in that task's format; see docs/tasks.md).")
    private String task;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output directory of a --task evaluation (new or empty unless --overwrite).")
    private Path out;

    @Option(names = "--overwrite",
            description = "With --task: write into a non-empty --out, replacing files of the same names.")
    private boolean overwrite;

    @Option(names = "--max-new-tokens", paramLabel = "N",
            description = "Tokens generated per answer with --task (default: ${DEFAULT-VALUE}).")
    private int maxNewTokens = 512;

    @Option(names = "--limit", paramLabel = "N",
            description = "Evaluate only the first N records with --task (0, the default: all).")
    private int limit;

    @Option(names = "--model-id", paramLabel = "ID",
            description = "Model id of MT-Bench answers (default: ${DEFAULT-VALUE}).")
    private String modelId = "lorapro";

    @Option(names = "--allow-code-execution",
            description = "Run HumanEval's generated programs here, sandboxed (default: only write samples.jsonl).")
    private boolean allowCodeExecution;

    @Option(names = "--skip-bad-lines", description = "Skip and count bad records instead of failing.")
    private boolean skipBadLines;

    @Override
    public Map<String, String> flags() {
        return Map.of("task", "--task", "batch_size", "--batch", "max_new_tokens", "--max-new-tokens",
                "max_input_length", "--max-seq-length", "limit", "--limit", "model_id", "--model-id");
    }

    @Override
    public Integer call() {
        EvalSettings settings = new EvalSettings(batch, maxNewTokens, maxSeqLength.maxSeqLength, limit, skipBadLines,
                modelId);
        if (task != null) {
            return evaluateTask(settings);
        }
        new IdleOptions(spec).when(true, List.of("--out", "--overwrite", "--limit", "--max-new-tokens", "--model-id",
                "--allow-code-execution"), "without --task").print(spec.commandLine().getErr());
        ModelArchitecture config = modelOptions.config();
        DefaultTasks.requireJsonLines(config);
        try (HfTokenizer tok = modelOptions.tokenizer(config)) {
            TextEncoder encoder = TaskTokenizers.encoder(tok, config);
            Records<Example> read = DefaultTasks.examples(config, data, encoder, settings.maxInputLength(),
                    settings.skipBadRecords());
            List<Example> examples = read.records();
            try (NDManager manager = NDManager.newBaseManager(modelOptions.device())) {
                Block m = modelOptions.load(config, manager);
                Map<String, Double> metrics = Evaluator.evaluate(DefaultTasks.lossTask(config, m), manager, examples,
                        settings.batchSize(), encoder.effectivePadId());
                spec.commandLine().getOut().printf(Locale.ROOT, "examples %d%neval_loss %.6f%nperplexity %.4f%n",
                        examples.size(), metrics.get("loss"), metrics.get("perplexity"));
                if (settings.skipBadRecords()) {
                    spec.commandLine().getOut().printf(Locale.ROOT, "bad_lines_skipped %d%n", read.skipped());
                }
                spec.commandLine().getOut().flush();
            }
        }
        return ExitCodes.OK;
    }

    private Integer evaluateTask(EvalSettings settings) {
        if (out == null) {
            throw new InvalidInputException("--out is required with --task");
        }
        new OutputDirectoryGuard("--out", out)
                .protect("--model", modelOptions.model)
                .protect("--adapter", modelOptions.adapter)
                .protect("--data", Files.isDirectory(data) ? data : null)
                .protectFile("--data", data)
                .requireEmptyUnless(overwrite);
        modelOptions.requireReadableAdapter();
        modelOptions.reportMemory(modelOptions.config(), modelOptions.device());
        if (!spec.commandLine().getParseResult().hasMatchedOption("--max-new-tokens")) {
            // the default, not the user's number: a model with fewer positions generates as far as they go
            settings = settings.withMaxNewTokens(Math.min(settings.maxNewTokens(), modelOptions.config().maxPositions()));
        }
        new IdleOptions(spec)
                .when(!task.equals("humaneval"), List.of("--allow-code-execution"), "with --task " + task)
                .when(!task.equals("mt-bench"), List.of("--model-id"), "with --task " + task)
                .when(task.equals("image-folder"), List.of("--max-new-tokens"), "with --task image-folder")
                .print(spec.commandLine().getErr());
        TaskEvaluator evaluator = new TaskEvaluator(
                modelOptions.model, modelOptions.adapter, modelOptions.tokenizer, modelOptions.device(), settings)
                .optAllowCodeExecution(allowCodeExecution)
                .optFrozenType(modelOptions.frozenType());
        Path file = task.startsWith("glue-") ? GlueFiles.dev(data, GlueTask.fromName(task)) : data;
        Map<String, Object> metrics = evaluator.evaluate(task, file, out);
        metrics.forEach((name, value) -> spec.commandLine().getOut().println(name + " " + value));
        spec.commandLine().getOut().flush();
        return ExitCodes.OK;
    }
}
