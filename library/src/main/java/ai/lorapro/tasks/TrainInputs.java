package ai.lorapro.tasks;

import ai.djl.Device;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Devices;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The input files and devices of a training run, beside its settings ({@link
 * ai.lorapro.train.TrainConfig}). Optional paths are {@code null} when not given.
 *
 * @param modelDir the Hugging Face model directory
 * @param tokenizerFile a {@code tokenizer.json} overriding the model directory's, or null
 * @param data the training data: JSON lines, a task's file, or an image folder's root
 * @param evalData the evaluation data file (JSON lines, GLUE dev split, instruction data), or null;
 *     the image-folder task evaluates on {@code <root>/test} when it exists
 * @param resumeDir a checkpoint directory to resume from, or null
 * @param skipBadRecords skip and count bad records instead of failing
 * @param devices the devices of data-parallel training, the model's first (see {@code
 *     TrainingEngine.Builder.optDevices}); empty to train on the one device of the config
 */
public record TrainInputs(Path modelDir, Path tokenizerFile, Path data, Path evalData, Path resumeDir,
        boolean skipBadRecords, List<Device> devices) {

    /** Checks the required paths are present. */
    public TrainInputs {
        Objects.requireNonNull(modelDir, "modelDir");
        Objects.requireNonNull(data, "data");
        devices = List.copyOf(devices);
    }

    /** Inputs trained on the one device of the config. */
    public TrainInputs(Path modelDir, Path tokenizerFile, Path data, Path evalData, Path resumeDir,
            boolean skipBadRecords) {
        this(modelDir, tokenizerFile, data, evalData, resumeDir, skipBadRecords, List.of());
    }

    /** The device the model loads on: the first of {@link #devices}, else {@code choice}'s. */
    public Device modelDevice(DeviceChoice choice) {
        return devices.isEmpty() ? Devices.resolve(choice) : devices.get(0);
    }
}
