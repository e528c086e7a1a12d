package ai.lorapro.data.jsonl;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.TextLines;
import ai.lorapro.data.batch.Example;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A tokenised JSON-lines dataset held in memory. Each non-blank line is a JSON object, either
 * {@code {"prompt": .., "response": ..}} (loss on the response) or {@code {"text": ..}} (loss on
 * every token); see {@link TextEncoder} for the special tokens and the builder for truncation.
 * The prompt and response are joined with nothing in between: a chat or instruction template
 * belongs in the prompt text.
 */
public final class JsonlDataset {

    private static final Logger LOGGER = LoggerFactory.getLogger(JsonlDataset.class);
    /** Bad lines reported one by one when skipping; the rest only count. */
    private static final int REPORTED_BAD_LINES = 5;

    private final List<Example> examples;
    private final int skippedLines;
    private final int droppedExamples;
    private final int truncatedExamples;

    private JsonlDataset(List<Example> examples, int skippedLines, int droppedExamples,
            int truncatedExamples) {
        this.examples = List.copyOf(examples);
        this.skippedLines = skippedLines;
        this.droppedExamples = droppedExamples;
        this.truncatedExamples = truncatedExamples;
    }

    /** A builder; the file and the encoder are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** The examples in file order. */
    public List<Example> examples() {
        return examples;
    }

    /** The number of examples. */
    public int size() {
        return examples.size();
    }

    /** Lines skipped as malformed or incomplete (only when skipping bad lines). */
    public int skippedLines() {
        return skippedLines;
    }

    /** Records left out because no supervised token survived truncation. */
    public int droppedExamples() {
        return droppedExamples;
    }

    /** Records cut to the maximum length. */
    public int truncatedExamples() {
        return truncatedExamples;
    }

    /** Builds a {@link JsonlDataset} by reading and tokenising a file. */
    public static final class Builder {

        private Path file;
        private TextEncoder encoder;
        private int maxLength = 512;
        private boolean skipBadLines;

        private Builder() {}

        /** The JSON-lines file (required). */
        public Builder setFile(Path file) {
            this.file = file;
            return this;
        }

        /** The tokeniser (required). */
        public Builder setEncoder(TextEncoder encoder) {
            this.encoder = encoder;
            return this;
        }

        /** Examples are cut to their first {@code maxLength} tokens; 512 by default. */
        public Builder optMaxLength(int maxLength) {
            this.maxLength = maxLength;
            return this;
        }

        /** Skip and count malformed or incomplete lines instead of failing; off by default. */
        public Builder optSkipBadLines(boolean skipBadLines) {
            this.skipBadLines = skipBadLines;
            return this;
        }

        /**
         * Reads and tokenises the file.
         *
         * @return the dataset, never empty
         * @throws InvalidInputException naming file and line for a bad line (unless skipping),
         *     and the file when it is missing, unreadable or holds no usable example
         */
        public JsonlDataset build() {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(encoder, "encoder");
            ExampleEncoder exampleEncoder = new ExampleEncoder(encoder, maxLength);
            List<Example> examples = new ArrayList<>();
            int[] skipped = {0};
            Consumer<InvalidInputException> skipOrThrow = e -> {
                if (!skipBadLines) {
                    throw e;
                }
                if (skipped[0]++ < REPORTED_BAD_LINES) {
                    LOGGER.warn("skipping {}", e.getMessage());
                }
            };
            int dropped = 0;
            int truncated = 0;
            long lineCount;
            long arrayLine = StrictJson.jsonArrayLine(file);
            if (arrayLine > 0) {
                // a whole file in another format, not a bad line: refused even when skipping bad lines
                throw new InvalidInputException(file + ":" + arrayLine + ": the file is a JSON array, not JSON lines"
                        + " (one {\"text\"} or {\"prompt\", \"response\"} object per line); a task's own data"
                        + " file, such as MetaMathQA's JSON array, is read by naming the task (--task NAME;"
                        + " docs/tasks.md lists the tasks of train and of eval)");
            }
            try (TextLines lines = TextLines.open(file)) {
                for (String line; (line = lines.next(skipOrThrow)) != null; ) {
                    if (line.isBlank()) {
                        continue;
                    }
                    TextRecord record;
                    try {
                        record = JsonlReader.parse(line, file.toString(), lines.number());
                    } catch (InvalidInputException e) {
                        skipOrThrow.accept(e);
                        continue;
                    }
                    Example example = exampleEncoder.encode(record);
                    if (example == null) {
                        dropped++;
                        continue;
                    }
                    if (exampleEncoder.wasTruncated()) {
                        truncated++;
                    }
                    examples.add(example);
                }
                lineCount = lines.number();
            }
            if (skipped[0] > REPORTED_BAD_LINES) {
                LOGGER.warn("{}: skipped {} bad lines in all", file, skipped[0]);
            }
            if (dropped > 0) {
                LOGGER.warn("{}: left out {} records with no response token within {} tokens",
                        file, dropped, maxLength);
            }
            if (examples.isEmpty()) {
                throw new InvalidInputException(file + ": no usable examples (" + lineCount
                        + " lines, " + skipped[0] + " skipped, " + dropped + " without loss tokens)");
            }
            return new JsonlDataset(examples, skipped[0], dropped, truncated);
        }
    }
}
