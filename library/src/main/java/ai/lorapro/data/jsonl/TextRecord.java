package ai.lorapro.data.jsonl;

/**
 * One JSON-lines record: either a prompt and a response (loss on the response only) or a plain
 * text (loss on every token).
 *
 * @param prompt the prompt, {@code null} for a text record
 * @param completion the response, or the whole text of a text record
 * @param line the 1-based line the record came from
 */
public record TextRecord(String prompt, String completion, long line) {

    /** A {@code {"prompt","response"}} record. */
    public static TextRecord promptResponse(String prompt, String response, long line) {
        return new TextRecord(prompt, response, line);
    }

    /** A {@code {"text"}} record. */
    public static TextRecord text(String text, long line) {
        return new TextRecord(null, text, line);
    }

    /** Whether only the completion carries loss. */
    public boolean hasPrompt() {
        return prompt != null;
    }
}
