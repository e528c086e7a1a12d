package ai.lorapro.train;

import static ai.lorapro.InvalidFieldException.require;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Set;

/**
 * Where and how a run executes, beside what it trains: its output directory, seed, device, the
 * treatment of each step's gradients (clipping, float16 base weights), its intervals and what a
 * resumed run may change. Validated once here.
 *
 * <p>The constructor throws {@link ai.lorapro.InvalidFieldException} naming the first invalid field.
 *
 * @param outputDir the directory that receives checkpoints, adapters and metrics
 * @param seed seed for shuffling, adapter initialisation and dropout
 * @param device where training runs
 * @param fp16Frozen whether the frozen base weights are held in float16 (with dynamic loss scaling)
 * @param clipNorm the global gradient-norm bound, finite and >= 0; 0 turns clipping off
 * @param evalInterval evaluate every this many steps, >= 0; 0 evaluates only at the end
 * @param checkpointInterval save a checkpoint every this many steps, >= 0; 0 only at the end
 * @param keepCheckpoints keep only this many of the run's checkpoints, the newest by step, >= 0; 0
 *     keeps every one ({@link CheckpointRetention} says which directories it may delete)
 * @param logInterval log a progress line every this many steps when not on a terminal, >= 1
 * @param allowedResumeChanges {@link RunIdentity#CHANGEABLE} fields a resumed run may change
 *     ({@code all} for every one)
 */
public record RunConfig(Path outputDir, long seed, DeviceChoice device, boolean fp16Frozen, double clipNorm,
        int evalInterval, int checkpointInterval, int keepCheckpoints, int logInterval,
        Set<String> allowedResumeChanges) {

    /** Validates every field and copies the set. */
    public RunConfig {
        require(outputDir != null, "output_dir", "is required");
        Objects.requireNonNull(device, "device");
        require(clipNorm >= 0 && Double.isFinite(clipNorm), "clip_norm", "must be >= 0 (0 = off), got " + clipNorm);
        require(evalInterval >= 0, "eval_interval", "must be >= 0, got " + evalInterval);
        require(checkpointInterval >= 0, "checkpoint_interval", "must be >= 0, got " + checkpointInterval);
        require(keepCheckpoints >= 0, "keep_checkpoints", "must be >= 0 (0 = keep all), got " + keepCheckpoints);
        require(logInterval >= 1, "log_interval", "must be >= 1, got " + logInterval);
        allowedResumeChanges = Set.copyOf(allowedResumeChanges);
        for (String f : allowedResumeChanges) {
            require(f.equals("all") || RunIdentity.CHANGEABLE.contains(f), "allowed_resume_changes",
                    "holds unknown field '" + f + "' (one of all, " + String.join(", ", RunIdentity.CHANGEABLE) + ")");
        }
    }

    /**
     * The settings without {@code keepCheckpoints}, as this record took them before it had one:
     * every checkpoint is kept.
     *
     * @deprecated name {@code keepCheckpoints} (0 keeps every checkpoint)
     */
    @Deprecated
    public RunConfig(Path outputDir, long seed, DeviceChoice device, boolean fp16Frozen, double clipNorm,
            int evalInterval, int checkpointInterval, int logInterval, Set<String> allowedResumeChanges) {
        this(outputDir, seed, device, fp16Frozen, clipNorm, evalInterval, checkpointInterval, 0, logInterval,
                allowedResumeChanges);
    }

    /**
     * The defaults for a run writing into {@code outputDir}: seed 42, device auto, float32 base
     * weights, clipping at 1.0, evaluation and checkpoints at the end, every checkpoint kept, a log
     * line every 10 steps.
     */
    public static RunConfig defaults(Path outputDir) {
        return new RunConfig(outputDir, 42, DeviceChoice.AUTO, false, 1.0, 0, 0, 0, 10, Set.of());
    }
}
