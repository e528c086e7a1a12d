package ai.lorapro.cli;

import ai.lorapro.train.BatchConfig;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Map;

/**
 * The options of {@link BatchConfig}: {@code --epochs --max-steps --global-batch --micro-batch
 * --max-seq-length}.
 */
final class BatchOptions implements FieldOptions {

    @Option(names = "--epochs", paramLabel = "N", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = BatchConfig.DEFAULTS.epochs();

    @Option(names = "--max-steps", paramLabel = "N",
            description = "Optimizer steps, overriding --epochs; -1 (the default) runs the epochs instead.")
    int maxSteps = BatchConfig.DEFAULTS.maxSteps();

    @Option(names = "--global-batch", paramLabel = "N", description = "Examples per step (default: ${DEFAULT-VALUE}).")
    int globalBatch = BatchConfig.DEFAULTS.globalBatch();

    @Option(names = "--micro-batch", paramLabel = "N",
            description = "Examples per forward pass; gradient accumulation = global/micro (default: ${DEFAULT-VALUE}).")
    int microBatch = BatchConfig.DEFAULTS.microBatch();

    @Mixin
    MaxSeqLengthOption maxSeqLength = new MaxSeqLengthOption();

    @Override
    public Map<String, String> flags() {
        return Map.of("epochs", "--epochs", "max_steps", "--max-steps", "total_steps", "--max-steps/--epochs",
                "global_batch", "--global-batch", "micro_batch", "--micro-batch");
    }

    /** The batching these options describe. */
    BatchConfig toConfig() {
        return new BatchConfig(globalBatch, microBatch, maxSeqLength.maxSeqLength, epochs, maxSteps);
    }
}
