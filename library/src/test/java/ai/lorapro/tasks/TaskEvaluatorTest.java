package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.models.t5.T5GreedyDecoder;
import ai.lorapro.tasks.eval.HumanEvalEvaluation;
import ai.lorapro.tasks.glue.GlueEvaluation;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Every evaluation task end to end on random tiny models: outputs and metrics in their formats. */
class TaskEvaluatorTest {

    @TempDir
    static Path models;

    @TempDir
    Path dir;

    private static final EvalSettings SETTINGS = EvalSettings.defaults().withMaxNewTokens(6).withBatchSize(2);

    @BeforeAll
    static void saveModels() {
        TinyModels.t5(models.resolve("t5"));
        TinyModels.llama(models.resolve("llama"));
    }

    private static JsonObject json(Path file) throws Exception {
        return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
    }

    @Test
    void glueAccuracyMatchesTheDecodedPredictions() throws Exception {
        Path data = dir.resolve("dev.tsv");
        Files.writeString(data, "sentence\tlabel\na gripping film\t1\na dull , lifeless mess\t0\nfine\t1\n");
        Path out = dir.resolve("glue");
        TaskEvaluator evaluator = new TaskEvaluator(models.resolve("t5"), null, null, Device.cpu(), SETTINGS);
        Map<String, Object> metrics = evaluator.evaluate("glue-sst2", data, out);
        List<String> rows = Files.readAllLines(out.resolve(GlueEvaluation.PREDICTIONS_FILE));
        assertEquals(3, rows.size());
        // the predictions are what the model decodes for the input alone
        try (NDManager manager = NDManager.newBaseManager();
                HfTokenizer tokenizer = HfTokenizer.load(models.resolve("t5/tokenizer.json"))) {
            T5ForConditionalGeneration model = T5ForConditionalGeneration.fromPretrained(models.resolve("t5"), manager);
            long[] ids = tokenizer.encode("sst2 sentence: a dull , lifeless mess", true);
            long[] mask = new long[ids.length];
            java.util.Arrays.fill(mask, 1);
            int steps = TaskEvaluator.maxLabelTokens(ai.lorapro.tasks.glue.GlueTask.SST2, tokenizer);
            long[] tokens = new T5GreedyDecoder(steps, false)
                    .generate(model, manager, new long[][] {ids}, new long[][] {mask}).get(0);
            assertEquals(tokenizer.decode(tokens, true).strip(),
                    JsonParser.parseString(rows.get(1)).getAsJsonObject().get("prediction").getAsString());
        }
        long correct = rows.stream().filter(r -> r.contains("\"correct\":true")).count();
        assertEquals((double) correct / 3, json(out.resolve(TaskOutputs.METRICS_FILE)).get("accuracy").getAsDouble());
        assertEquals(3, metrics.get("total"));
    }

    @Test
    void gsm8kHumanEvalAndMtBenchWriteTheirFiles() throws Exception {
        TaskEvaluator evaluator = new TaskEvaluator(models.resolve("llama"), null, null, Device.cpu(), SETTINGS);
        Path gsm = dir.resolve("gsm8k.jsonl");
        Files.writeString(gsm, "{\"question\": \"What is 2 + 2?\", \"answer\": \"2 + 2 = 4\\n#### 4\"}\n"
                + "{\"question\": \"What is 10 - 3?\", \"answer\": \"#### 7\"}\n");
        Map<String, Object> math = evaluator.evaluate("gsm8k", gsm, dir.resolve("gsm"));
        assertEquals(2, math.get("total"));
        assertEquals(2, Files.readAllLines(dir.resolve("gsm").resolve("predictions.jsonl")).size());

        Path humanEval = dir.resolve("HumanEval.jsonl");
        JsonObject problem = new JsonObject();
        problem.addProperty("task_id", "HumanEval/0");
        problem.addProperty("prompt", "def one():\n    \"\"\"Return 1.\"\"\"\n");
        problem.addProperty("entry_point", "one");
        problem.addProperty("test", "def check(candidate):\n    assert candidate() == 1\n");
        problem.addProperty("canonical_solution", "    return 1\n");
        Files.writeString(humanEval, problem + "\n");
        Map<String, Object> code = evaluator.evaluate("humaneval", humanEval, dir.resolve("he"));
        JsonObject sample = JsonParser.parseString(
                Files.readAllLines(dir.resolve("he").resolve(HumanEvalEvaluation.SAMPLES_FILE)).get(0)).getAsJsonObject();
        assertEquals("HumanEval/0", sample.get("task_id").getAsString());
        assertTrue(sample.has("completion"));
        assertTrue(code.containsKey("executed"));
        assertEquals(0L, json(dir.resolve("he").resolve(TaskOutputs.METRICS_FILE)).get("skipped").getAsLong());

        Path questions = dir.resolve("question.jsonl");
        Files.writeString(questions, "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"Hi.\", \"More.\"]}\n");
        evaluator.evaluate("mt-bench", questions, dir.resolve("mt"));
        JsonObject answer = JsonParser.parseString(
                Files.readAllLines(dir.resolve("mt").resolve("lorapro.jsonl")).get(0)).getAsJsonObject();
        assertEquals(2, answer.getAsJsonArray("choices").get(0).getAsJsonObject().getAsJsonArray("turns").size());
    }

    /** Code execution asked for where no sandboxed interpreter runs: refused before any generation, nothing written. */
    @Test
    void allowedCodeExecutionWithoutAnInterpreterIsRefusedUpFront() throws Exception {
        JsonObject problem = new JsonObject();
        problem.addProperty("task_id", "HumanEval/0");
        problem.addProperty("prompt", "def one():\n");
        problem.addProperty("entry_point", "one");
        problem.addProperty("test", "def check(candidate):\n    assert candidate() == 1\n");
        Path humanEval = dir.resolve("refused.jsonl");
        Files.writeString(humanEval, problem + "\n");
        Path out = dir.resolve("refused");
        TaskEvaluator evaluator = new TaskEvaluator(models.resolve("llama"), null, null, Device.cpu(), SETTINGS)
                .optAllowCodeExecution(true)
                .python(dir.resolve("no-such-python3").toString());
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> evaluator.evaluate("humaneval", humanEval, out));
        assertTrue(e.getMessage().startsWith("code execution is allowed (--allow-code-execution), but "
                + dir.resolve("no-such-python3") + " is not available here"), e.getMessage());
        assertFalse(Files.exists(out));
    }

    @Test
    void unknownTaskIsInvalidInput() {
        TaskEvaluator evaluator = new TaskEvaluator(Fixtures.hfTiny(), null, null, Device.cpu(), SETTINGS);
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> evaluator.evaluate("squad", dir, dir));
        assertTrue(e.getMessage().contains("unknown evaluation task \"squad\""), e.getMessage());
    }
}
