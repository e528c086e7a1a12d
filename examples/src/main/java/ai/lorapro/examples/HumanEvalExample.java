package ai.lorapro.examples;

import ai.djl.engine.Engine;
import ai.lorapro.examples.support.ExampleRun;
import ai.lorapro.tasks.EvalSettings;
import ai.lorapro.tasks.TaskEvaluator;

import java.nio.file.Path;
import java.util.Map;

/**
 * Evaluates a Llama model (optionally with a PEFT adapter) on humaneval: samples.jsonl and, with
 * {@code -Dlorapro.allowCodeExecution=true} and python3 here, pass@1 from the programs run in a
 * sandbox (results.jsonl, metrics.json; see docs/reliability.md for what the sandbox does not prevent).
 *
 * <pre>
 * HumanEvalExample MODEL_DIR DATA_FILE OUT_DIR [ADAPTER_DIR]
 * </pre>
 *
 * DATA_FILE is HumanEval.jsonl. MODEL_DIR holds config.json, the safetensors weights and tokenizer.json.
 */
public final class HumanEvalExample {

    private HumanEvalExample() {}

    /** Runs the evaluation, or prints usage when the paths are missing (exit code 2). */
    public static void main(String[] args) {
        ExampleRun.exit(run(args));
    }

    /** The work of {@link #main}: its exit code ({@link ExampleRun}). */
    static int run(String[] args) {
        String usage = String.join(System.lineSeparator(),
                "usage: HumanEvalExample MODEL_DIR DATA_FILE OUT_DIR [ADAPTER_DIR]",
                "  DATA_FILE: HumanEval.jsonl",
                "  writes samples.jsonl and, with -Dlorapro.allowCodeExecution=true and python3 here,"
                        + " pass@1 (results.jsonl, metrics.json)");
        return ExampleRun.run(args, 3, 2, usage, () -> {
            Path adapter = args.length > 3 ? Path.of(args[3]) : null;
            EvalSettings settings = EvalSettings.defaults().withMaxNewTokens(ExampleRun.newTokens(args[0], 512)).withBatchSize(8);
            TaskEvaluator evaluator = new TaskEvaluator(Path.of(args[0]), adapter, null, Engine.getInstance().defaultDevice(), settings)
                    .optAllowCodeExecution(Boolean.getBoolean("lorapro.allowCodeExecution"));
            Map<String, Object> metrics = evaluator.evaluate("humaneval", Path.of(args[1]), Path.of(args[2]));
            System.out.println(metrics);
            if (Boolean.FALSE.equals(metrics.get("executed")) && !Boolean.getBoolean("lorapro.allowCodeExecution")) {
                System.out.println("(to run the programs here: JAVA_OPTS=-Dlorapro.allowCodeExecution=true)");
            }
        });
    }
}
