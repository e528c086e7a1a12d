package ai.lorapro.tasks.instruct;

import java.util.List;

/**
 * The Alpaca prompt used for the paper's instruction tuning and for its generation-based
 * evaluations: an instruction goes into the template and the model writes the response after
 * {@code ### Response:}. Later turns of a conversation append another instruction block after the
 * previous response.
 */
public final class AlpacaTemplate {

    /** The template; {@code {instruction}} is replaced by the instruction. */
    public static final String TEMPLATE = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n{instruction}\n\n### Response:\n";

    private AlpacaTemplate() {}

    /** The prompt of one instruction. */
    public static String prompt(String instruction) {
        return TEMPLATE.replace("{instruction}", instruction);
    }

    /**
     * The prompt of a conversation's next turn: the first instruction in the template, each earlier
     * response followed by the next instruction block.
     *
     * @param instructions the instructions so far, the last one to be answered
     * @param responses the responses to all but the last instruction
     */
    public static String conversation(List<String> instructions, List<String> responses) {
        if (instructions.isEmpty() || responses.size() != instructions.size() - 1) {
            throw new IllegalArgumentException("need one response fewer than instructions, got "
                    + instructions.size() + " instructions and " + responses.size() + " responses");
        }
        StringBuilder out = new StringBuilder(prompt(instructions.get(0)));
        for (int i = 1; i < instructions.size(); i++) {
            out.append(responses.get(i - 1)).append("\n\n### Instruction:\n").append(instructions.get(i))
                    .append("\n\n### Response:\n");
        }
        return out.toString();
    }
}
