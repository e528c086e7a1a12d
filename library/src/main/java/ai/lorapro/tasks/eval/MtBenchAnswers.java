package ai.lorapro.tasks.eval;

import ai.lorapro.InvalidInputException;
import ai.lorapro.tasks.BadRecords;
import ai.lorapro.tasks.JsonLines;
import ai.lorapro.tasks.Records;
import ai.lorapro.tasks.TaskOutputs;
import ai.lorapro.tasks.TextGenerator;
import ai.lorapro.tasks.instruct.AlpacaTemplate;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * MT-Bench answers for external judging: every question is answered turn by turn (turn k's prompt
 * holds the earlier turns and answers, in the {@link AlpacaTemplate}), and the answers are written
 * in FastChat's model-answer format, one JSON object per line: {@code question_id}, {@code
 * answer_id}, {@code model_id}, {@code choices: [{index: 0, turns: [...]}]}, {@code tstamp}. Put
 * the file at {@code fastchat/llm_judge/data/mt_bench/model_answer/<model_id>.jsonl} and run
 * FastChat's {@code gen_judgment.py}.
 */
public final class MtBenchAnswers {

    private static final char[] ALPHABET =
            "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".toCharArray();
    private static final int ANSWER_ID_LENGTH = 22;

    private MtBenchAnswers() {}

    /**
     * Reads FastChat's {@code question.jsonl}.
     *
     * @throws InvalidInputException naming file, line and field for a bad record (unless skipping),
     *     or the file when it holds no usable question
     */
    public static Records<MtBenchQuestion> read(Path file, BadRecords bad) {
        Records<MtBenchQuestion> records = JsonLines.read(file, json -> {
            long id;
            try {
                id = Long.parseLong(json.scalar("question_id"));
            } catch (NumberFormatException e) {
                throw json.error("field \"question_id\" must be an integer");
            }
            String category = json.has("category") ? json.string("category") : "";
            JsonArray array = json.array("turns");
            List<String> turns = new ArrayList<>();
            for (JsonElement turn : array) {
                if (!turn.isJsonPrimitive() || !turn.getAsJsonPrimitive().isString()) {
                    throw json.error("field \"turns\" must hold strings");
                }
                turns.add(turn.getAsString());
            }
            if (turns.isEmpty()) {
                throw json.error("field \"turns\" is empty");
            }
            return new MtBenchQuestion(id, category, turns, json.line());
        }, bad);
        if (records.records().isEmpty()) {
            throw new InvalidInputException(file + ": no usable MT-Bench questions (" + records.skipped() + " skipped)");
        }
        return records;
    }

    /**
     * Answers every question turn by turn: all first turns in one generation call, then all second
     * turns, and so on.
     *
     * @return the answers to each question's turns, in question order
     */
    public static List<List<String>> answer(List<MtBenchQuestion> questions, TextGenerator generator) {
        List<List<String>> answers = new ArrayList<>();
        int maxTurns = 0;
        for (MtBenchQuestion question : questions) {
            answers.add(new ArrayList<>());
            maxTurns = Math.max(maxTurns, question.turns().size());
        }
        for (int turn = 0; turn < maxTurns; turn++) {
            List<Integer> asked = new ArrayList<>();
            List<String> prompts = new ArrayList<>();
            for (int q = 0; q < questions.size(); q++) {
                List<String> turns = questions.get(q).turns();
                if (turn < turns.size()) {
                    asked.add(q);
                    prompts.add(AlpacaTemplate.conversation(turns.subList(0, turn + 1), answers.get(q)));
                }
            }
            List<String> outputs = generator.generate(prompts);
            for (int i = 0; i < asked.size(); i++) {
                answers.get(asked.get(i)).add(outputs.get(i).strip());
            }
        }
        return answers;
    }

    /**
     * Writes answers in FastChat's format.
     *
     * @param file the answer file, e.g. {@code <model_id>.jsonl}
     * @param modelId the model id the judge reports
     * @param questions the questions
     * @param answers the answers to each question's turns
     */
    public static void write(Path file, String modelId, List<MtBenchQuestion> questions, List<List<String>> answers) {
        SecureRandom random = new SecureRandom();
        List<JsonObject> rows = new ArrayList<>();
        for (int q = 0; q < questions.size(); q++) {
            JsonObject row = new JsonObject();
            row.addProperty("question_id", questions.get(q).questionId());
            row.addProperty("answer_id", answerId(random));
            row.addProperty("model_id", modelId);
            JsonObject choice = new JsonObject();
            choice.addProperty("index", 0);
            JsonArray turns = new JsonArray();
            answers.get(q).forEach(turns::add);
            choice.add("turns", turns);
            JsonArray choices = new JsonArray();
            choices.add(choice);
            row.add("choices", choices);
            row.addProperty("tstamp", System.currentTimeMillis() / 1000.0);
            rows.add(row);
        }
        TaskOutputs.writeJsonLines(file, rows);
    }

    /** A random id like FastChat's shortuuid: 22 characters of a 57-letter alphabet. */
    private static String answerId(SecureRandom random) {
        char[] id = new char[ANSWER_ID_LENGTH];
        for (int i = 0; i < id.length; i++) {
            id[i] = ALPHABET[random.nextInt(ALPHABET.length)];
        }
        return new String(id);
    }
}
