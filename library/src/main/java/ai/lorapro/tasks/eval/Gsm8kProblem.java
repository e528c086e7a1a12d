package ai.lorapro.tasks.eval;

/**
 * One GSM8K test problem.
 *
 * @param question the question
 * @param answer the reference solution, ending in {@code #### N}
 * @param reference the final number N, commas removed
 * @param line the 1-based line of the data file
 */
public record Gsm8kProblem(String question, String answer, String reference, long line) {}
