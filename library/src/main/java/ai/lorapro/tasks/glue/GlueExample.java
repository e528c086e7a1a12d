package ai.lorapro.tasks.glue;

/**
 * One GLUE example in text-to-text form.
 *
 * @param input the T5 input, e.g. {@code "sst2 sentence: a gripping film"}
 * @param label the label index
 * @param target the label word the model must produce
 * @param line the 1-based line of the data file it came from
 */
public record GlueExample(String input, int label, String target, long line) {}
