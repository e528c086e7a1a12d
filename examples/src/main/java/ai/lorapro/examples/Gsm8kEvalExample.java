package ai.lorapro.examples;

import ai.djl.engine.Engine;
import ai.lorapro.examples.support.ExampleRun;
import ai.lorapro.tasks.EvalSettings;
import ai.lorapro.tasks.TaskEvaluator;

import java.nio.file.Path;
import java.util.Map;

/**
 * Evaluates a Llama model (optionally with a PEFT adapter) on gsm8k: accuracy of the final numbers (predictions.jsonl, metrics.json).
 *
 * <pre>
 * Gsm8kEvalExample MODEL_DIR DATA_FILE OUT_DIR [ADAPTER_DIR]
 * </pre>
 *
 * DATA_FILE is GSM8K test JSON lines (question, answer ending in #### N). MODEL_DIR holds config.json, the safetensors weights and tokenizer.json.
 */
public final class Gsm8kEvalExample {

    private Gsm8kEvalExample() {}

    /** Runs the evaluation, or prints usage when the paths are missing (exit code 2). */
    public static void main(String[] args) {
        ExampleRun.exit(run(args));
    }

    /** The work of {@link #main}: its exit code ({@link ExampleRun}). */
    static int run(String[] args) {
        String usage = String.join(System.lineSeparator(),
                "usage: Gsm8kEvalExample MODEL_DIR DATA_FILE OUT_DIR [ADAPTER_DIR]",
                "  DATA_FILE: GSM8K test JSON lines (question, answer ending in #### N)",
                "  writes accuracy of the final numbers (predictions.jsonl, metrics.json)");
        return ExampleRun.run(args, 3, 2, usage, () -> {
            Path adapter = args.length > 3 ? Path.of(args[3]) : null;
            EvalSettings settings = EvalSettings.defaults().withMaxNewTokens(ExampleRun.newTokens(args[0], 512)).withBatchSize(8);
            TaskEvaluator evaluator = new TaskEvaluator(Path.of(args[0]), adapter, null, Engine.getInstance().defaultDevice(), settings);
            Map<String, Object> metrics = evaluator.evaluate("gsm8k", Path.of(args[1]), Path.of(args[2]));
            System.out.println(metrics);
        });
    }
}
