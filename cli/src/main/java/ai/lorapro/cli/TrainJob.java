package ai.lorapro.cli;

import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.train.TrainConfig;

import java.util.Objects;

/**
 * What {@code lorapro train} parsed: the run's settings, its input files and the task, handed to
 * the {@link TrainLauncher}.
 *
 * @param config the validated run settings, including the output directory
 * @param inputs the model, data, tokenizer and checkpoint paths
 * @param task one of the paper's tasks ({@code --task}), or {@code null} for the model family's
 *     default
 */
public record TrainJob(TrainConfig config, TrainInputs inputs, String task) {

    /** Checks the required parts are present. */
    public TrainJob {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(inputs, "inputs");
    }
}
