package ai.lorapro.cli;

import ai.lorapro.train.ScheduleConfig;

import picocli.CommandLine.Option;

import java.util.Map;

/** The options of {@link ScheduleConfig}: {@code --lr --min-lr --warmup-ratio}. */
final class ScheduleOptions implements FieldOptions {

    @Option(names = "--lr", paramLabel = "X", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    float lr = ScheduleConfig.DEFAULTS.lr();

    @Option(names = "--min-lr", paramLabel = "X", description = "Final cosine learning rate (default: 0).")
    float minLr = ScheduleConfig.DEFAULTS.minLr();

    @Option(names = "--warmup-ratio", paramLabel = "X", description = "Warm-up fraction (default: ${DEFAULT-VALUE}).")
    double warmupRatio = ScheduleConfig.DEFAULTS.warmupRatio();

    @Override
    public Map<String, String> flags() {
        return Map.of("lr", "--lr", "min_lr", "--min-lr", "warmup_ratio", "--warmup-ratio");
    }

    /** The schedule these options describe. */
    ScheduleConfig toConfig() {
        return new ScheduleConfig(lr, minLr, warmupRatio);
    }
}
