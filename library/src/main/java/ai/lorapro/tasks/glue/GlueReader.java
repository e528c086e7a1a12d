package ai.lorapro.tasks.glue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.TextLines;
import ai.lorapro.tasks.BadRecords;
import ai.lorapro.tasks.JsonLines;
import ai.lorapro.tasks.JsonRecord;
import ai.lorapro.tasks.Records;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads a GLUE split: a {@code .tsv} file of the GLUE distribution, or JSON lines in the style of
 * the Hugging Face {@code glue} datasets ({@code sentence/label}, {@code premise/hypothesis/label},
 * {@code question/sentence/label}, {@code sentence1/sentence2/label}).
 *
 * <p>TSV files are split on tabs only: quote characters are text (GLUE sentences contain unpaired
 * quotes that CSV quoting would swallow). Columns are found by header name (SST-2 {@code
 * sentence, label}; QNLI {@code index, question, sentence, label}; MRPC {@code Quality, #1 ID, #2
 * ID, #1 String, #2 String}; MNLI {@code sentence1, sentence2, gold_label} among many), except for
 * CoLA, whose train and dev files have no header and four columns: source, label, original label,
 * sentence. A leading byte-order mark is ignored.
 */
public final class GlueReader {

    private GlueReader() {}

    /**
     * Reads every example of {@code file}: TSV when its name ends in {@code .tsv}, else JSON lines.
     *
     * @throws InvalidInputException naming the file and line for a bad record (unless skipping),
     *     or the file when it cannot be read or has no usable example
     */
    public static Records<GlueExample> read(GlueTask task, Path file, BadRecords bad) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        Records<GlueExample> records = name.endsWith(".tsv") ? readTsv(task, file, bad) : readJsonLines(task, file, bad);
        if (records.records().isEmpty()) {
            throw new InvalidInputException(file + ": no usable " + task.cliName() + " examples ("
                    + records.skipped() + " skipped)");
        }
        return records;
    }

    private static Records<GlueExample> readJsonLines(GlueTask task, Path file, BadRecords bad) {
        return JsonLines.read(file, json -> fromJson(task, json), bad);
    }

    private static GlueExample fromJson(GlueTask task, JsonRecord json) {
        List<String> values = new ArrayList<>();
        for (GlueTask.Field field : task.fields()) {
            values.add(json.string(field.jsonField()));
        }
        String label = json.scalar(task.jsonLabel());
        int index = task.labelIndex(label);
        if (index < 0) {
            throw json.error("label \"" + label + "\" is not one of " + task.labelWords()
                    + " or their indices (test splits have no labels)");
        }
        return new GlueExample(task.input(values), index, task.labelWords().get(index), json.line());
    }

    private static Records<GlueExample> readTsv(GlueTask task, Path file, BadRecords bad) {
        List<GlueExample> examples = new ArrayList<>();
        int skippedBefore = bad.skipped();
        try (TextLines lines = TextLines.open(file)) {
            TsvLayout layout = null;
            for (String line; (line = lines.next(bad::handle)) != null; ) {
                if (line.isEmpty()) {
                    continue;
                }
                String[] cells = line.split("\t", -1);
                if (layout == null) {
                    layout = TsvLayout.of(task, cells, file);
                    if (layout.hasHeader()) {
                        continue;
                    }
                }
                try {
                    examples.add(layout.example(task, cells, file + ":" + lines.number(), lines.number()));
                } catch (InvalidInputException e) {
                    bad.handle(e);
                }
            }
        }
        return new Records<>(examples, bad.skipped() - skippedBefore);
    }

    /** Where the text and label columns of a TSV file are. */
    private record TsvLayout(boolean hasHeader, int columns, int[] textColumns, int labelColumn) {

        /** CoLA's headerless layout: source, label, original label, sentence. */
        private static final int COLA_COLUMNS = 4;

        static TsvLayout of(GlueTask task, String[] first, Path file) {
            if (task == GlueTask.COLA) {
                if (first.length == COLA_COLUMNS && task.labelIndex(first[1]) >= 0) {
                    return new TsvLayout(false, COLA_COLUMNS, new int[] {3}, 1);
                }
                throw new InvalidInputException(file + ":1: expected CoLA's headerless 4 columns"
                        + " (source, label, original label, sentence), got " + first.length
                        + " columns (the test split has no labels)");
            }
            Map<String, Integer> header = new HashMap<>();
            for (int i = 0; i < first.length; i++) {
                header.putIfAbsent(first[i].strip(), i);
            }
            int[] text = new int[task.fields().size()];
            for (int i = 0; i < text.length; i++) {
                text[i] = column(header, task.fields().get(i).tsvColumn(), file);
            }
            int label = column(header, task.tsvLabel(), file);
            return new TsvLayout(true, first.length, text, label);
        }

        private static int column(Map<String, Integer> header, String name, Path file) {
            Integer index = header.get(name);
            if (index == null) {
                throw new InvalidInputException(file + ":1: header has no column \"" + name
                        + "\" (header: " + String.join(", ", header.keySet().stream().sorted().toList())
                        + "; test splits have no labels)");
            }
            return index;
        }

        GlueExample example(GlueTask task, String[] cells, String location, long line) {
            if (cells.length != columns) {
                throw new InvalidInputException(location + ": expected " + columns + " tab-separated columns, got "
                        + cells.length);
            }
            String label = cells[labelColumn];
            int index = task.labelIndex(label);
            if (index < 0) {
                throw new InvalidInputException(location + ": label \"" + label + "\" is not one of "
                        + task.labelWords() + " or their indices");
            }
            List<String> values = Arrays.stream(textColumns).mapToObj(c -> cells[c]).toList();
            return new GlueExample(task.input(values), index, task.labelWords().get(index), line);
        }
    }
}
