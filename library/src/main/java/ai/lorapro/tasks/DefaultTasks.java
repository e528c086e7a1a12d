package ai.lorapro.tasks;

import ai.djl.nn.Block;
import ai.lorapro.InvalidFieldException;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.JsonlDataset;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.t5.T5ForConditionalGeneration;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.TrainTask;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What {@code train} and {@code eval} do without {@code --task}, for each {@link ModelKind}: the
 * registry's families declare their kind, and this class (in the layer that owns the training
 * tasks) maps it to a task. Language models train on JSON lines ({@code {"prompt","response"}},
 * and for causal LMs also {@code {"text"}}); image-text models train the {@code image-folder}
 * task.
 */
public final class DefaultTasks {

    private static final Logger LOGGER = LoggerFactory.getLogger(DefaultTasks.class);

    private DefaultTasks() {}

    /**
     * The named task that a kind trains on by default, or empty when it trains on JSON lines.
     */
    public static Optional<String> taskName(ModelKind kind) {
        return kind == ModelKind.IMAGE_TEXT ? Optional.of(TaskTrainer.IMAGE_FOLDER) : Optional.empty();
    }

    /**
     * Checks that {@code architecture} trains and evaluates on JSON lines.
     *
     * @throws InvalidFieldException naming the field {@code task} and the task to use instead
     */
    public static void requireJsonLines(ModelArchitecture architecture) {
        Optional<String> task = taskName(architecture.kind());
        if (task.isPresent()) {
            throw new InvalidFieldException("task", task.get() + " is needed: " + architecture.modelType()
                    + " models do not read JSON lines");
        }
    }

    /**
     * The loss of a JSON-lines model: next-token loss for causal LMs, target loss for
     * encoder-decoders.
     *
     * @param architecture the model's architecture
     * @param model the loaded model
     * @throws InvalidInputException when the kind does not read JSON lines
     */
    public static TrainTask lossTask(ModelArchitecture architecture, Block model) {
        requireJsonLines(architecture);
        if (architecture.kind() == ModelKind.SEQ_2_SEQ_LM) {
            return new Seq2SeqLmTask(cast(model, T5ForConditionalGeneration.class, architecture));
        }
        return new CausalLmTask(cast(model, CausalLanguageModel.class, architecture));
    }

    /**
     * The examples of a JSON-lines file for a model of {@code architecture}.
     *
     * @param file the file
     * @param encoder the tokenizer with the model's special tokens
     * @param maxLength the most tokens per example (per source and per target for
     *     encoder-decoders)
     * @param skipBadLines skip and count bad lines instead of failing
     * @return the examples, and how many bad lines were skipped
     * @throws InvalidInputException naming the file and line of a bad record
     */
    public static Records<Example> examples(ModelArchitecture architecture, Path file, TextEncoder encoder,
            int maxLength, boolean skipBadLines) {
        requireJsonLines(architecture);
        if (architecture.kind() == ModelKind.SEQ_2_SEQ_LM) {
            return pairs(file, encoder, maxLength, skipBadLines);
        }
        JsonlDataset dataset = JsonlDataset.builder()
                .setFile(file)
                .setEncoder(encoder)
                .optMaxLength(maxLength)
                .optSkipBadLines(skipBadLines)
                .build();
        warnBeyondPositions(file, dataset.examples(), architecture.maxPositions());
        return new Records<>(dataset.examples(), dataset.skippedLines());
    }

    /**
     * Warns when examples are longer than the model has positions for: rotary positions compute
     * past the end, but the model never saw them, so the loss there means little.
     *
     * @return how many examples are longer
     */
    static int warnBeyondPositions(Path file, List<Example> examples, int maxPositions) {
        int longer = 0;
        int longest = 0;
        for (Example e : examples) {
            if (e.length() > maxPositions) {
                longer++;
                longest = Math.max(longest, e.length());
            }
        }
        if (longer > 0) {
            LOGGER.warn("{}: {} of {} examples are longer than the model's max_position_embeddings {} (up to {}"
                    + " tokens): positions past it were never trained; max_seq_length {} (--max-seq-length) cuts them", file, longer,
                    examples.size(), maxPositions, longest, maxPositions);
        }
        return longer;
    }

    /** {"prompt","response"} records as (source, target) pairs. */
    private static Records<Example> pairs(Path file, TextEncoder encoder, int maxLength, boolean skipBadLines) {
        Seq2SeqExamples encoding = new Seq2SeqExamples(encoder, maxLength, maxLength);
        Records<Example> records = JsonLines.read(file, json -> {
            if (!json.has("prompt") || !json.has("response")) {
                throw json.error("an encoder-decoder trains on {\"prompt\", \"response\"} records");
            }
            try {
                return encoding.encode(json.string("prompt"), json.string("response"));
            } catch (IllegalArgumentException e) {
                throw json.error(e.getMessage());
            }
        }, BadRecords.of(skipBadLines));
        if (records.records().isEmpty()) {
            throw new InvalidInputException(file + ": no usable examples (" + records.skipped() + " skipped)");
        }
        return records;
    }

    private static <T> T cast(Block model, Class<T> type, ModelArchitecture architecture) {
        if (!type.isInstance(model)) {
            throw new InvalidInputException(architecture.modelType() + " declares " + architecture.kind()
                    + " but its model is not a " + type.getSimpleName());
        }
        return type.cast(model);
    }
}
