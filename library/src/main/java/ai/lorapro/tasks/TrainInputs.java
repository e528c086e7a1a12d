package ai.lorapro.tasks;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The input files of a training run, beside its settings ({@link ai.lorapro.train.TrainConfig}).
 * Optional paths are {@code null} when not given.
 *
 * @param modelDir the Hugging Face model directory
 * @param tokenizerFile a {@code tokenizer.json} overriding the model directory's, or null
 * @param data the training data: JSON lines, a task's file, or an image folder's root
 * @param evalData the evaluation data file (JSON lines, GLUE dev split, instruction data), or null;
 *     the image-folder task evaluates on {@code <root>/test} when it exists
 * @param resumeDir a checkpoint directory to resume from, or null
 * @param skipBadRecords skip and count bad records instead of failing
 */
public record TrainInputs(Path modelDir, Path tokenizerFile, Path data, Path evalData, Path resumeDir,
        boolean skipBadRecords) {

    /** Checks the required paths are present. */
    public TrainInputs {
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(data, "data");
    }
}
