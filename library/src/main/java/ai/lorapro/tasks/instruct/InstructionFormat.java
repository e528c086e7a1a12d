package ai.lorapro.tasks.instruct;

import ai.lorapro.InvalidInputException;
import ai.lorapro.tasks.JsonRecord;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The instruction-tuning datasets of the paper's Llama-2 experiments and where each keeps its
 * instruction and response.
 */
public enum InstructionFormat {

    /** MetaMathQA (math): {@code query} and {@code response}. */
    METAMATH("metamath") {
        @Override
        List<Turn> turns(JsonRecord json, boolean allTurns) {
            return List.of(new Turn(json.string("query"), json.string("response")));
        }
    },
    /** Code-Feedback (code): {@code query} and {@code answer}. */
    CODEFEEDBACK("codefeedback") {
        @Override
        List<Turn> turns(JsonRecord json, boolean allTurns) {
            return List.of(new Turn(json.string("query"), json.string("answer")));
        }
    },
    /**
     * WizardLM (chat): {@code instruction} and {@code output}, or ShareGPT-style {@code
     * conversations} [{from: human|gpt, value}]. By default the first human turn is the instruction
     * and the gpt turn after it the response; with all turns each later exchange is one more
     * record whose prompt holds the conversation so far.
     */
    WIZARDLM("wizardlm") {
        @Override
        List<Turn> turns(JsonRecord json, boolean allTurns) {
            if (!json.has("conversations")) {
                if (json.has("instruction")) {
                    return List.of(new Turn(json.string("instruction"), json.string("output")));
                }
                throw json.error("missing field \"conversations\" (or \"instruction\" and \"output\")");
            }
            return conversationTurns(json, allTurns);
        }
    };

    private final String cliName;

    InstructionFormat(String cliName) {
        this.cliName = cliName;
    }

    /**
     * The format of a CLI task name ({@code metamath}, {@code codefeedback}, {@code wizardlm}).
     *
     * @throws InvalidInputException for an unknown name
     */
    public static InstructionFormat fromName(String name) {
        String key = name.toLowerCase(Locale.ROOT).replace("-", "");
        for (InstructionFormat format : values()) {
            if (format.cliName.equals(key)) {
                return format;
            }
        }
        throw new InvalidInputException("unknown instruction task \"" + name
                + "\" (expected metamath, codefeedback or wizardlm)");
    }

    /** The CLI task name. */
    public String cliName() {
        return cliName;
    }

    /**
     * The (instruction, response) exchanges of one record, in order.
     *
     * @param json the record
     * @param allTurns every exchange of a multi-turn conversation (true) or the first only
     * @throws InvalidInputException naming the record and field when one is missing or malformed
     */
    abstract List<Turn> turns(JsonRecord json, boolean allTurns);

    /** One instruction and its response. */
    record Turn(String instruction, String response) {}

    private static List<Turn> conversationTurns(JsonRecord json, boolean allTurns) {
        JsonArray conversation = json.array("conversations");
        List<Turn> turns = new ArrayList<>();
        String pending = null;
        for (int i = 0; i < conversation.size(); i++) {
            JsonElement element = conversation.get(i);
            String where = "conversations[" + i + "]";
            if (!element.isJsonObject()) {
                throw json.error(where + " must be an object {from, value}");
            }
            JsonObject turn = element.getAsJsonObject();
            String from = text(json, turn, "from", where);
            String value = text(json, turn, "value", where);
            if (from.equals("human") || from.equals("user")) {
                pending = value;
            } else if ((from.equals("gpt") || from.equals("assistant")) && pending != null) {
                turns.add(new Turn(pending, value));
                pending = null;
                if (!allTurns) {
                    break;
                }
            }
        }
        if (turns.isEmpty()) {
            throw json.error("\"conversations\" has no human turn followed by a gpt turn");
        }
        return turns;
    }

    private static String text(JsonRecord json, JsonObject turn, String field, String where) {
        JsonElement value = turn.get(field);
        if (value == null || !value.isJsonPrimitive() || !value.getAsJsonPrimitive().isString()) {
            throw json.error(where + "." + field + " must be a string");
        }
        return value.getAsString();
    }
}
