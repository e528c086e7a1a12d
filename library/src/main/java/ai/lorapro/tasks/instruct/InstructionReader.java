package ai.lorapro.tasks.instruct;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.ExampleEncoder;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.data.jsonl.TextRecord;
import ai.lorapro.tasks.BadRecords;
import ai.lorapro.tasks.JsonLines;
import ai.lorapro.tasks.Records;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads an instruction-tuning dataset (JSON lines or a JSON array) into prompt/response records:
 * the prompt is the instruction in the {@link AlpacaTemplate}, the response carries the loss.
 */
public final class InstructionReader {

    private static final Logger LOGGER = LoggerFactory.getLogger(InstructionReader.class);

    private InstructionReader() {}

    /**
     * Reads every record of {@code file}.
     *
     * @param format the dataset's field layout
     * @param file the data file
     * @param allTurns for conversations: one record per exchange (true) or the first only
     * @param bad fail or skip on a bad record
     * @return prompt/response records, numbered by line (or array element)
     * @throws InvalidInputException naming the file and record for a bad record (unless skipping),
     *     or the file when it holds no usable record
     */
    public static Records<TextRecord> read(InstructionFormat format, Path file, boolean allTurns, BadRecords bad) {
        Records<List<TextRecord>> perLine = JsonLines.read(file, json -> {
            List<String> instructions = new ArrayList<>();
            List<String> responses = new ArrayList<>();
            List<TextRecord> out = new ArrayList<>();
            for (InstructionFormat.Turn turn : format.turns(json, allTurns)) {
                instructions.add(turn.instruction());
                out.add(TextRecord.promptResponse(AlpacaTemplate.conversation(instructions, responses),
                        turn.response(), json.line()));
                responses.add(turn.response());
            }
            return out;
        }, bad);
        List<TextRecord> records = new ArrayList<>();
        perLine.records().forEach(records::addAll);
        if (records.isEmpty()) {
            throw new InvalidInputException(file + ": no usable " + format.cliName() + " records ("
                    + perLine.skipped() + " skipped)");
        }
        return new Records<>(records, perLine.skipped());
    }

    /**
     * Tokenises records for the training engine: {@code [BOS] prompt response [EOS]} with loss on
     * the response and EOS only, cut to {@code maxLength} tokens; records with no response token
     * left are dropped (and logged).
     *
     * @param source the records' file, for messages
     * @throws InvalidInputException naming {@code source} if no record keeps a response token
     */
    public static List<Example> examples(Path source, List<TextRecord> records, TextEncoder encoder, int maxLength) {
        ExampleEncoder exampleEncoder = new ExampleEncoder(encoder, maxLength);
        List<Example> examples = new ArrayList<>();
        int dropped = 0;
        for (TextRecord record : records) {
            Example example = exampleEncoder.encode(record);
            if (example == null) {
                dropped++;
            } else {
                examples.add(example);
            }
        }
        if (dropped > 0) {
            LOGGER.warn("{}: left out {} records with no response token within {} tokens", source, dropped, maxLength);
        }
        if (examples.isEmpty()) {
            throw new InvalidInputException(source + ": no record has a response token within " + maxLength
                    + " tokens (max_seq_length, --max-seq-length)");
        }
        return examples;
    }
}
