package ai.lorapro.tasks.glue;

import ai.lorapro.tasks.Seq2SeqExamples;
import ai.lorapro.tasks.TaskOutputs;
import ai.lorapro.tasks.TextGenerator;
import ai.lorapro.data.batch.Example;

import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GLUE accuracy as in the paper: the model generates greedily from each dev input, and a
 * prediction is correct when it is exactly the label word (surrounding white space aside).
 */
public final class GlueEvaluation {

    /** The predictions file written next to the metrics. */
    public static final String PREDICTIONS_FILE = "predictions.jsonl";

    private GlueEvaluation() {}

    /**
     * The training examples of a GLUE split for the text-to-text model.
     *
     * @param examples the examples
     * @param encoder the (source, target) encoder
     */
    public static List<Example> trainingExamples(List<GlueExample> examples, Seq2SeqExamples encoder) {
        List<Example> out = new ArrayList<>();
        for (GlueExample example : examples) {
            out.add(encoder.encode(example.input(), example.target()));
        }
        return out;
    }

    /**
     * Generates a prediction for each example and scores it.
     *
     * @param task the task
     * @param examples the dev examples
     * @param generator the model
     * @return the result
     */
    public static Result evaluate(GlueTask task, List<GlueExample> examples, TextGenerator generator) {
        List<String> outputs = generator.generate(examples.stream().map(GlueExample::input).toList());
        if (outputs.size() != examples.size()) {
            throw new IllegalStateException("the generator returned " + outputs.size() + " outputs for "
                    + examples.size() + " inputs");
        }
        int correct = 0;
        for (int i = 0; i < examples.size(); i++) {
            if (outputs.get(i).strip().equals(examples.get(i).target())) {
                correct++;
            }
        }
        return new Result(task, examples, outputs, correct);
    }

    /**
     * The accuracy of one GLUE evaluation, with its predictions.
     *
     * @param task the task
     * @param examples the examples, in order
     * @param predictions the generated text of each example
     * @param correct how many predictions are exactly the label word
     */
    public record Result(GlueTask task, List<GlueExample> examples, List<String> predictions, int correct) {

        /** Copies the lists. */
        public Result {
            examples = List.copyOf(examples);
            predictions = List.copyOf(predictions);
        }

        /** correct / total, NaN for no examples. */
        public double accuracy() {
            return examples.isEmpty() ? Double.NaN : (double) correct / examples.size();
        }

        /** The metrics: task, accuracy, correct, total. */
        public Map<String, Object> metrics() {
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("task", task.cliName());
            metrics.put("accuracy", accuracy());
            metrics.put("correct", correct);
            metrics.put("total", examples.size());
            return metrics;
        }

        /**
         * Writes {@code predictions.jsonl} (line, input, target, prediction, correct) and {@code
         * metrics.json} into {@code dir}, plus {@code extra} metrics such as skipped records.
         *
         * @return the metrics written
         */
        public Map<String, Object> write(Path dir, Map<String, ?> extra) {
            List<JsonObject> rows = new ArrayList<>();
            for (int i = 0; i < examples.size(); i++) {
                GlueExample example = examples.get(i);
                JsonObject row = new JsonObject();
                row.addProperty("line", example.line());
                row.addProperty("input", example.input());
                row.addProperty("target", example.target());
                row.addProperty("prediction", predictions.get(i));
                row.addProperty("correct", predictions.get(i).strip().equals(example.target()));
                rows.add(row);
            }
            TaskOutputs.writeJsonLines(dir.resolve(PREDICTIONS_FILE), rows);
            Map<String, Object> all = metrics();
            all.putAll(extra);
            TaskOutputs.writeMetrics(dir.resolve(TaskOutputs.METRICS_FILE), all);
            return all;
        }
    }
}
