package ai.lorapro.tasks.glue;

import ai.lorapro.InvalidInputException;

import java.util.List;
import java.util.Locale;

/**
 * The GLUE tasks of the paper's T5 experiments, in the text-to-text form of the T5 paper: the input
 * is the task name followed by named fields ({@code "mnli hypothesis: ... premise: ..."}) and the
 * target is a label word. Label {@code i} of the Hugging Face {@code glue} datasets is label word
 * {@code i} here.
 */
public enum GlueTask {

    /** Sentiment of a movie-review sentence. */
    SST2("sst2", List.of(new Field("sentence", "sentence", "sentence")),
            "label", "label", List.of("negative", "positive")),
    /** Entailment between a premise and a hypothesis; evaluated on dev_matched. */
    MNLI("mnli", List.of(new Field("hypothesis", "hypothesis", "sentence2"),
                    new Field("premise", "premise", "sentence1")),
            "label", "gold_label", List.of("entailment", "neutral", "contradiction")),
    /** Grammatical acceptability of a sentence; its TSV files have no header. */
    COLA("cola", List.of(new Field("sentence", "sentence", null)),
            "label", null, List.of("unacceptable", "acceptable")),
    /** Whether a sentence answers a question. */
    QNLI("qnli", List.of(new Field("question", "question", "question"),
                    new Field("sentence", "sentence", "sentence")),
            "label", "label", List.of("entailment", "not_entailment")),
    /** Whether two sentences are paraphrases. */
    MRPC("mrpc", List.of(new Field("sentence1", "sentence1", "#1 String"),
                    new Field("sentence2", "sentence2", "#2 String")),
            "label", "Quality", List.of("not_equivalent", "equivalent"));

    /**
     * One text field of the input.
     *
     * @param inputName the name written into the T5 input ({@code "hypothesis"})
     * @param jsonField the field of a JSON-lines record
     * @param tsvColumn the header of the GLUE TSV column, null for a headerless file
     */
    public record Field(String inputName, String jsonField, String tsvColumn) {}

    private final String prefix;
    private final List<Field> fields;
    private final String jsonLabel;
    private final String tsvLabel;
    private final List<String> labelWords;

    GlueTask(String prefix, List<Field> fields, String jsonLabel, String tsvLabel, List<String> labelWords) {
        this.prefix = prefix;
        this.fields = fields;
        this.jsonLabel = jsonLabel;
        this.tsvLabel = tsvLabel;
        this.labelWords = labelWords;
    }

    /**
     * The task of a CLI name: {@code glue-sst2} (or {@code sst2}, {@code sst-2}), and so on.
     *
     * @throws InvalidInputException for an unknown name
     */
    public static GlueTask fromName(String name) {
        String key = name.toLowerCase(Locale.ROOT).replace("glue-", "").replace("-", "");
        for (GlueTask task : values()) {
            if (task.prefix.equals(key)) {
                return task;
            }
        }
        throw new InvalidInputException("unknown GLUE task \"" + name
                + "\" (expected glue-sst2, glue-mnli, glue-cola, glue-qnli or glue-mrpc)");
    }

    /** The CLI name, e.g. {@code glue-sst2}. */
    public String cliName() {
        return "glue-" + prefix;
    }

    /** The T5 task prefix, e.g. {@code sst2}. */
    public String prefix() {
        return prefix;
    }

    /** The text fields, in the order they appear in the input. */
    public List<Field> fields() {
        return fields;
    }

    /** The label field of a JSON-lines record. */
    public String jsonLabel() {
        return jsonLabel;
    }

    /** The label column of a TSV file with a header, null for CoLA's headerless files. */
    public String tsvLabel() {
        return tsvLabel;
    }

    /** The label words; label {@code i} is word {@code i}. */
    public List<String> labelWords() {
        return labelWords;
    }

    /**
     * The T5 input, e.g. {@code "qnli question: <q> sentence: <s>"}.
     *
     * @param values the field values, in {@link #fields()} order
     */
    public String input(List<String> values) {
        if (values.size() != fields.size()) {
            throw new IllegalArgumentException(prefix + " needs " + fields.size() + " fields, got " + values.size());
        }
        StringBuilder out = new StringBuilder(prefix);
        for (int i = 0; i < fields.size(); i++) {
            out.append(' ').append(fields.get(i).inputName()).append(": ").append(values.get(i).strip());
        }
        return out.toString();
    }

    /**
     * The label index of a label as written in a data file: an index ({@code "1"}) or a label word
     * ({@code "entailment"}).
     *
     * @return the index, or -1 if the label is neither
     */
    public int labelIndex(String label) {
        String value = label.strip();
        int word = labelWords.indexOf(value);
        if (word >= 0) {
            return word;
        }
        try {
            int index = Integer.parseInt(value);
            return index >= 0 && index < labelWords.size() ? index : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
