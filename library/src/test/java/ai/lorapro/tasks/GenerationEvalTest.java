package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.tasks.eval.Gsm8kEvaluation;
import ai.lorapro.tasks.eval.Gsm8kProblem;
import ai.lorapro.tasks.eval.HumanEvalEvaluation;
import ai.lorapro.tasks.eval.HumanEvalProblem;
import ai.lorapro.tasks.eval.MtBenchAnswers;
import ai.lorapro.tasks.eval.MtBenchQuestion;
import ai.lorapro.tasks.eval.NumberAnswers;
import ai.lorapro.tasks.eval.PythonRunner;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** GSM8K, HumanEval and MT-Bench: readers, answer extraction, execution and output formats. */
class GenerationEvalTest {

    @TempDir
    Path dir;

    /** New samples never sit beside an earlier run's results and pass@1 (a rerun stopped while programs ran). */
    @Test
    void humanEvalScoringRemovesAnEarlierRunsResults() throws Exception {
        Files.writeString(dir.resolve(HumanEvalEvaluation.RESULTS_FILE), "{\"task_id\": \"old\"}\n");
        Files.writeString(dir.resolve("metrics.json"), "{\"pass@1\": 1.0}");
        HumanEvalProblem add = new HumanEvalProblem("HumanEval/0", "def add(a, b):\n", "add",
                "def check(candidate):\n    assert candidate(2, 3) == 5\n", "    return a + b\n", 1);
        Map<String, Object> metrics = HumanEvalEvaluation.score(List.of(add), List.of("    return a + b\n"),
                Optional.empty(), dir);
        assertFalse(Files.exists(dir.resolve(HumanEvalEvaluation.RESULTS_FILE)));
        assertEquals(false, metrics.get("executed"));
        assertFalse(Files.readString(dir.resolve("metrics.json")).contains("pass@1"));
    }

    @Test
    void gsm8kReferencesAndPredictions() {
        assertEquals(Optional.of("1234"), NumberAnswers.reference("Natalia sold 48/2 = <<48/2=24>>24 clips.\n#### 1,234"));
        assertEquals(Optional.empty(), NumberAnswers.reference("no marker 12"));
        assertEquals(Optional.of("18"), NumberAnswers.prediction("3 + 5 = 8, so 18 in all. The answer is 18. Check: 20"));
        assertEquals(Optional.of("-3.5"), NumberAnswers.prediction("It drops by 2 then by -3.5"));
        // lower-casing 'İ' gives two chars: the mark's index must be the output's own
        assertEquals(Optional.of("7"), NumberAnswers.prediction("İİİİ The ANSWER is 7."));
        assertEquals(Optional.of("7"), NumberAnswers.prediction("İİ 3 apples. The answer is 7. Then 9"));
        assertEquals(Optional.of("1000"), NumberAnswers.prediction("The answer is: $1,000."));
        assertEquals(Optional.empty(), NumberAnswers.prediction("no idea"));
        assertTrue(NumberAnswers.sameValue("18.00", "18"));
        assertFalse(NumberAnswers.sameValue("18.5", "18"));
    }

    @Test
    void gsm8kAccuracyAndFiles() throws Exception {
        Path file = dir.resolve("test.jsonl");
        Files.writeString(file, "{\"question\": \"Janet has 16 eggs and eats 3. How many are left?\", "
                + "\"answer\": \"16 - 3 = <<16-3=13>>13\\n#### 13\"}\n"
                + "{\"question\": \"A robe takes 2 bolts of blue fiber and half that much white fiber. How many bolts?\", "
                + "\"answer\": \"2/2=<<2/2=1>>1\\n2+1=<<2+1=3>>3\\n#### 3\"}\n"
                + "{\"question\": \"Bad\", \"answer\": \"no final number\"}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> Gsm8kEvaluation.read(file, BadRecords.fail()));
        assertEquals(file + ":3: field \"answer\" does not end in \"#### <number>\"", e.getMessage());
        Records<Gsm8kProblem> problems = Gsm8kEvaluation.read(file, BadRecords.skip());
        assertEquals(List.of("13", "3"), problems.records().stream().map(Gsm8kProblem::reference).toList());
        List<String> seen = new ArrayList<>();
        TextGenerator generator = prompts -> {
            seen.addAll(prompts);
            return List.of("16 - 3 = 13. The answer is 13.", "She needs 2 + 1 = 4 bolts");
        };
        Gsm8kEvaluation.Result result = Gsm8kEvaluation.evaluate(problems.records(), generator);
        assertTrue(seen.get(0).endsWith("### Instruction:\nJanet has 16 eggs and eats 3. How many are left?\n\n### Response:\n"));
        assertEquals(1, result.correctCount());
        result.write(dir.resolve("out"), Map.of("skipped", problems.skipped()));
        JsonObject metrics = JsonParser.parseString(
                Files.readString(dir.resolve("out").resolve(TaskOutputs.METRICS_FILE))).getAsJsonObject();
        assertEquals(0.5, metrics.get("accuracy").getAsDouble());
        assertEquals(1, metrics.get("skipped").getAsInt());
        List<String> rows = Files.readAllLines(dir.resolve("out").resolve(Gsm8kEvaluation.PREDICTIONS_FILE));
        assertEquals("4", JsonParser.parseString(rows.get(1)).getAsJsonObject().get("predicted").getAsString());
        // an output without a number still has the documented field, as null (it was left out)
        Gsm8kEvaluation.evaluate(problems.records().subList(0, 1), prompts -> List.of("no idea"))
                .write(dir.resolve("none"), Map.of());
        JsonObject row = JsonParser.parseString(
                Files.readAllLines(dir.resolve("none").resolve(Gsm8kEvaluation.PREDICTIONS_FILE)).get(0)).getAsJsonObject();
        assertTrue(row.has("predicted") && row.get("predicted").isJsonNull(), row.toString());
    }

    private Path humanEvalFile() throws Exception {
        JsonObject add = new JsonObject();
        add.addProperty("task_id", "HumanEval/0");
        add.addProperty("prompt", "def add(a, b):\n    \"\"\"Return the sum of a and b.\n    >>> add(2, 3)\n    5\n    \"\"\"\n");
        add.addProperty("entry_point", "add");
        add.addProperty("canonical_solution", "    return a + b\n");
        add.addProperty("test", "\n\nMETADATA = {}\n\n\ndef check(candidate):\n    assert candidate(2, 3) == 5\n"
                + "    assert candidate(-1, 1) == 0\n");
        JsonObject loop = new JsonObject();
        loop.addProperty("task_id", "HumanEval/1");
        loop.addProperty("prompt", "def spin(n):\n    \"\"\"Return n.\"\"\"\n");
        loop.addProperty("entry_point", "spin");
        loop.addProperty("canonical_solution", "    return n\n");
        loop.addProperty("test", "def check(candidate):\n    assert candidate(4) == 4\n");
        Path file = dir.resolve("HumanEval.jsonl");
        Files.writeString(file, add + "\n" + loop + "\n");
        return file;
    }

    @Test
    void humanEvalSamplesAndPassAtOneWithPython() throws Exception {
        List<HumanEvalProblem> problems = HumanEvalEvaluation.read(humanEvalFile(), BadRecords.fail()).records();
        assertEquals("add", problems.get(0).entryPoint());
        Optional<PythonRunner> python = PythonRunner.find(Duration.ofSeconds(5));
        assumeTrue(python.isPresent(), "python3 is not available");
        assertEquals(PythonRunner.Outcome.PASSED,
                python.get().run(problems.get(0).program(problems.get(0).canonicalSolution())));
        // one passing completion (fenced, as instruction models answer) and one failing one
        TextGenerator generator = prompts -> List.of(
                "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nDone.",
                "    return n + 1\n\nprint(spin(1))\n");
        Path out = dir.resolve("humaneval");
        Map<String, Object> metrics = HumanEvalEvaluation.evaluate(problems, generator, python, out);
        assertEquals(0.5, (double) metrics.get("pass@1"));
        List<String> samples = Files.readAllLines(out.resolve(HumanEvalEvaluation.SAMPLES_FILE));
        JsonObject second = JsonParser.parseString(samples.get(1)).getAsJsonObject();
        assertEquals("HumanEval/1", second.get("task_id").getAsString());
        assertEquals("    return n + 1\n", second.get("completion").getAsString());
        List<String> results = Files.readAllLines(out.resolve(HumanEvalEvaluation.RESULTS_FILE));
        assertTrue(results.get(0).contains("\"passed\":true") && results.get(1).contains("\"result\":\"failed\""));
    }

    @Test
    void humanEvalTimeoutAndNoPython() throws Exception {
        List<HumanEvalProblem> problems = HumanEvalEvaluation.read(humanEvalFile(), BadRecords.fail()).records();
        Map<String, Object> metrics = HumanEvalEvaluation.score(problems, List.of("    return a + b\n", "    return n\n"),
                Optional.empty(), dir.resolve("nopython"));
        assertEquals(false, metrics.get("executed"));
        assertEquals(2, Files.readAllLines(dir.resolve("nopython").resolve(HumanEvalEvaluation.SAMPLES_FILE)).size());
        assertTrue(PythonRunner.find("no-such-python-3", Duration.ofSeconds(1)).isEmpty());
        Optional<PythonRunner> python = PythonRunner.find(Duration.ofMillis(1500));
        assumeTrue(python.isPresent(), "python3 is not available");
        assertEquals(PythonRunner.Outcome.TIMED_OUT,
                python.get().run(problems.get(1).program("    while True:\n        pass\n")));
    }

    @Test
    void mtBenchAnswersInFastChatFormat() throws Exception {
        Path file = dir.resolve("question.jsonl");
        Files.writeString(file, "{\"question_id\": 81, \"category\": \"writing\", \"turns\": [\"Compose a travel blog "
                + "post about Hawaii.\", \"Rewrite it starting every sentence with A.\"]}\n"
                + "{\"question_id\": 101, \"category\": \"reasoning\", \"turns\": [\"Who is in second place?\"]}\n");
        List<MtBenchQuestion> questions = MtBenchAnswers.read(file, BadRecords.fail()).records();
        List<String> prompts = new ArrayList<>();
        TextGenerator generator = batch -> {
            prompts.addAll(batch);
            return batch.stream().map(p -> "answer " + prompts.indexOf(p)).toList();
        };
        List<List<String>> answers = MtBenchAnswers.answer(questions, generator);
        assertEquals(List.of(List.of("answer 0", "answer 2"), List.of("answer 1")), answers);
        assertTrue(prompts.get(2).contains("Hawaii.\n\n### Response:\nanswer 0\n\n### Instruction:\nRewrite it"));
        Path out = dir.resolve("model_answer").resolve("lorapro.jsonl");
        MtBenchAnswers.write(out, "lorapro", questions, answers);
        JsonObject first = JsonParser.parseString(Files.readAllLines(out).get(0)).getAsJsonObject();
        assertEquals(81, first.get("question_id").getAsInt());
        assertEquals("lorapro", first.get("model_id").getAsString());
        assertEquals(22, first.get("answer_id").getAsString().length());
        assertTrue(first.get("tstamp").getAsDouble() > 1.6e9);
        JsonObject choice = first.getAsJsonArray("choices").get(0).getAsJsonObject();
        assertEquals(0, choice.get("index").getAsInt());
        assertEquals("answer 2", choice.getAsJsonArray("turns").get(1).getAsString());
    }
}
