package ai.lorapro.tasks.eval;

import java.util.List;

/**
 * One MT-Bench question, as in FastChat's {@code question.jsonl}.
 *
 * @param questionId the question id (a number in MT-Bench)
 * @param category e.g. {@code writing}
 * @param turns the user turns, usually two
 * @param line the 1-based line of the data file
 */
public record MtBenchQuestion(long questionId, String category, List<String> turns, long line) {

    /** Copies the turns. */
    public MtBenchQuestion {
        turns = List.copyOf(turns);
    }
}
