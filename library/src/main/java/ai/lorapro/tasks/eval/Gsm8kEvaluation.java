package ai.lorapro.tasks.eval;

import ai.lorapro.InvalidInputException;
import ai.lorapro.tasks.BadRecords;
import ai.lorapro.tasks.JsonLines;
import ai.lorapro.tasks.Records;
import ai.lorapro.tasks.TaskOutputs;
import ai.lorapro.tasks.TextGenerator;
import ai.lorapro.tasks.instruct.AlpacaTemplate;

import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * GSM8K accuracy as in the paper's math evaluation: each test question goes into the {@link
 * AlpacaTemplate}, the model answers, and the answer is correct when its final number ({@link
 * NumberAnswers#prediction}) equals the number after {@code ####} in the reference.
 */
public final class Gsm8kEvaluation {

    /** The predictions file written next to the metrics. */
    public static final String PREDICTIONS_FILE = "predictions.jsonl";

    private Gsm8kEvaluation() {}

    /**
     * Reads GSM8K test JSON lines ({@code question}, {@code answer} ending in {@code #### N}).
     *
     * @throws InvalidInputException naming file, line and field for a bad record (unless skipping),
     *     or the file when it holds no usable problem
     */
    public static Records<Gsm8kProblem> read(Path file, BadRecords bad) {
        Records<Gsm8kProblem> records = JsonLines.read(file, json -> {
            String question = json.string("question");
            String answer = json.string("answer");
            String reference = NumberAnswers.reference(answer)
                    .orElseThrow(() -> json.error("field \"answer\" does not end in \"#### <number>\""));
            return new Gsm8kProblem(question, answer, reference, json.line());
        }, bad);
        if (records.records().isEmpty()) {
            throw new InvalidInputException(file + ": no usable GSM8K problems (" + records.skipped() + " skipped)");
        }
        return records;
    }

    /** The prompt of a problem. */
    public static String prompt(Gsm8kProblem problem) {
        return AlpacaTemplate.prompt(problem.question());
    }

    /** Answers every problem with {@code generator} and scores the answers. */
    public static Result evaluate(List<Gsm8kProblem> problems, TextGenerator generator) {
        List<String> outputs = generator.generate(problems.stream().map(Gsm8kEvaluation::prompt).toList());
        if (outputs.size() != problems.size()) {
            throw new IllegalStateException("the generator returned " + outputs.size() + " outputs for "
                    + problems.size() + " prompts");
        }
        return new Result(problems, outputs);
    }

    /**
     * The answers to GSM8K problems and their accuracy.
     *
     * @param problems the problems
     * @param outputs the model's answer to each
     */
    public record Result(List<Gsm8kProblem> problems, List<String> outputs) {

        /** Copies the lists. */
        public Result {
            problems = List.copyOf(problems);
            outputs = List.copyOf(outputs);
        }

        /** Whether answer {@code i} is correct. */
        public boolean correct(int i) {
            Optional<String> predicted = NumberAnswers.prediction(outputs.get(i));
            return predicted.isPresent() && NumberAnswers.sameValue(predicted.get(), problems.get(i).reference());
        }

        /** The number of correct answers. */
        public int correctCount() {
            int n = 0;
            for (int i = 0; i < problems.size(); i++) {
                n += correct(i) ? 1 : 0;
            }
            return n;
        }

        /** correct / total, NaN for no problems. */
        public double accuracy() {
            return problems.isEmpty() ? Double.NaN : (double) correctCount() / problems.size();
        }

        /**
         * Writes {@code predictions.jsonl} (line, question, output, predicted, reference, correct) and
         * {@code metrics.json} (task, accuracy, correct, total and {@code extra}) into {@code dir}.
         *
         * @return the metrics written
         */
        public Map<String, Object> write(Path dir, Map<String, ?> extra) {
            List<JsonObject> rows = new ArrayList<>();
            for (int i = 0; i < problems.size(); i++) {
                Gsm8kProblem problem = problems.get(i);
                JsonObject row = new JsonObject();
                row.addProperty("line", problem.line());
                row.addProperty("question", problem.question());
                row.addProperty("output", outputs.get(i));
                row.addProperty("predicted", NumberAnswers.prediction(outputs.get(i)).orElse(null));
                row.addProperty("reference", problem.reference());
                row.addProperty("correct", correct(i));
                rows.add(row);
            }
            TaskOutputs.writeJsonLines(dir.resolve(PREDICTIONS_FILE), rows);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("task", "gsm8k");
            metrics.put("accuracy", accuracy());
            metrics.put("correct", correctCount());
            metrics.put("total", problems.size());
            metrics.putAll(extra);
            TaskOutputs.writeMetrics(dir.resolve(TaskOutputs.METRICS_FILE), metrics);
            return metrics;
        }
    }
}
