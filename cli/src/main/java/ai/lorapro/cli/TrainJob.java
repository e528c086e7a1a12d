package ai.lorapro.cli;

import ai.djl.Device;
import ai.lorapro.train.TrainConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Everything {@code lorapro train} hands to the training engine: the run's settings and its input
 * files. Optional paths are {@code null} when not given.
 *
 * @param config the validated run settings, including the output directory
 * @param modelDir the Hugging Face model directory (config.json, *.safetensors)
 * @param dataFile the training data: JSON lines, a task's file, or an image-folder root
 * @param evalDataFile the JSON-lines evaluation data, or {@code null}
 * @param tokenizerFile a tokenizer.json overriding the model directory's, or {@code null}
 * @param resumeDir a checkpoint directory to resume from, or {@code null}
 * @param skipBadLines skip and count malformed data lines instead of failing
 * @param task one of the paper's tasks ({@code --task}), or {@code null} for the model family's
 *     default
 * @param devices the GPUs of data-parallel training ({@code --devices}), the model's first; empty
 *     to train on the one device of {@code --device}
 */
public record TrainJob(TrainConfig config, Path modelDir, Path dataFile, Path evalDataFile,
        Path tokenizerFile, Path resumeDir, boolean skipBadLines, String task, List<Device> devices) {

    /** Checks the required parts are present. */
    public TrainJob {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(dataFile, "dataFile");
        devices = List.copyOf(devices);
    }

    /** A job on the one device of {@code --device}. */
    public TrainJob(TrainConfig config, Path modelDir, Path dataFile, Path evalDataFile, Path tokenizerFile,
            Path resumeDir, boolean skipBadLines, String task) {
        this(config, modelDir, dataFile, evalDataFile, tokenizerFile, resumeDir, skipBadLines, task, List.of());
    }
}
