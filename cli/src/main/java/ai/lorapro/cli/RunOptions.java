package ai.lorapro.cli;

import ai.lorapro.train.RunConfig;

import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The options of {@link RunConfig} but the output directory ({@code train} resolves it from {@code
 * --out} and {@code --run-name}): {@code --clip-norm --seed --eval-interval --checkpoint-interval
 * --keep-checkpoints --log-interval --device --fp16-frozen --allow-resume-change}.
 */
final class RunOptions implements FieldOptions {

    private static final RunConfig DEFAULTS = RunConfig.defaults(Path.of("."));

    @Option(names = "--clip-norm", paramLabel = "X",
            description = "Global gradient-norm clip, 0 = off (default: ${DEFAULT-VALUE}).")
    double clipNorm = DEFAULTS.clipNorm();

    @Option(names = "--seed", paramLabel = "N", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed = DEFAULTS.seed();

    @Option(names = "--eval-interval", paramLabel = "N",
            description = "Evaluate every N steps, 0 = at the end (default: ${DEFAULT-VALUE}).")
    int evalInterval = DEFAULTS.evalInterval();

    @Option(names = "--checkpoint-interval", paramLabel = "N",
            description = "Checkpoint every N steps, 0 = at the end (default: ${DEFAULT-VALUE}).")
    int checkpointInterval = DEFAULTS.checkpointInterval();

    @Option(names = "--keep-checkpoints", paramLabel = "N",
            description = "Keep only the newest N checkpoints of the run, deleting older ones; 0 = keep all"
                    + " (default: ${DEFAULT-VALUE}).")
    int keepCheckpoints = DEFAULTS.keepCheckpoints();

    @Option(names = "--log-interval", paramLabel = "N",
            description = "Log every N steps when not on a terminal (default: ${DEFAULT-VALUE}).")
    int logInterval = DEFAULTS.logInterval();

    @Mixin
    DeviceOption device = new DeviceOption();

    @Option(names = "--fp16-frozen", description = "Hold frozen base weights in float16.")
    boolean fp16Frozen = DEFAULTS.fp16Frozen();

    @Option(names = "--allow-resume-change", split = ",", paramLabel = "FIELDS",
            description = "With --resume: settings allowed to differ from the checkpoint's (lr, total_steps, ..., all).")
    List<String> allowedResumeChanges = new ArrayList<>(DEFAULTS.allowedResumeChanges());

    @Override
    public Map<String, String> flags() {
        return Map.of("clip_norm", "--clip-norm", "seed", "--seed", "eval_interval", "--eval-interval",
                "checkpoint_interval", "--checkpoint-interval", "keep_checkpoints", "--keep-checkpoints",
                "log_interval", "--log-interval",
                "fp16_frozen", "--fp16-frozen", "allowed_resume_changes", "--allow-resume-change");
    }

    /** The run settings these options describe, writing into {@code outputDir}. */
    RunConfig toConfig(Path outputDir) {
        return new RunConfig(outputDir, seed, device.choice(), fp16Frozen, clipNorm, evalInterval, checkpointInterval,
                keepCheckpoints, logInterval, Set.copyOf(allowedResumeChanges));
    }
}
