package ai.lorapro.train;

import ai.lorapro.io.AtomicFiles;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps a run's newest checkpoints and deletes the older ones ({@link RunConfig#keepCheckpoints}),
 * so that a long run with frequent checkpoints does not fill the disk: a full-mode LoRA-Pro
 * checkpoint of a 1.1B Llama (all linear layers) holds 7.3 GiB of optimizer moments.
 *
 * <p>What it may delete is narrow: the finished checkpoints of the run's {@code checkpoints/}
 * directory, as {@link Checkpoints} defines them (named as this library names them, directories, not
 * links to one, holding a {@value TrainerState#FILE_NAME}: a checkpoint this library published
 * whole). Anything else there is left alone and does not count.
 * Checkpoints rank by step, and the one just written is always kept. Checkpoints of higher steps
 * than it (an earlier run's, when this one resumed from an earlier step) are neither counted nor
 * deleted: the run replaces each when it reaches its step. A checkpoint that cannot be deleted is
 * logged (if it was already renamed, the run directory removes the {@code .tmp-} copy at its next
 * start), and the run goes on. A checkpoint is published before the older ones go, so the disk
 * holds {@code keep + 1} of them for a moment.
 */
final class CheckpointRetention {

    private static final Logger LOGGER = LoggerFactory.getLogger(CheckpointRetention.class);

    private CheckpointRetention() {}

    /**
     * Deletes the finished checkpoints of {@code checkpoints} up to the step of {@code justWritten}
     * beyond the {@code keep} newest by step, never {@code justWritten}.
     *
     * @param checkpoints the run's checkpoints directory
     * @param keep how many to keep, at least 1
     * @param justWritten the checkpoint this run has just published
     * @return the checkpoints deleted, oldest first
     */
    static List<Path> keepNewest(Path checkpoints, int keep, Path justWritten) {
        if (keep < 1) {
            throw new IllegalArgumentException("keep must be >= 1, got " + keep);
        }
        long current = Checkpoints.stepOf(justWritten);
        List<Path> others = new ArrayList<>(finished(checkpoints));
        // a run resumed from an earlier step replaces the later checkpoints as it reaches them
        others.removeIf(dir -> current >= 0 && Checkpoints.stepOf(dir) > current);
        int keepOthers = others.remove(justWritten) ? keep - 1 : keep;
        List<Path> deleted = new ArrayList<>();
        // a checkpoint that cannot be deleted is not made up for by deleting a newer one
        for (Path dir : others.subList(0, Math.max(0, others.size() - keepOthers))) {
            try {
                AtomicFiles.discardDirectory(dir);
                deleted.add(dir);
                LOGGER.info("deleted checkpoint {} (keeping the newest {})", dir, keep);
            } catch (IOException e) {
                LOGGER.warn("could not delete checkpoint {}: {}", dir, e.toString());
            }
        }
        return deleted;
    }

    /** The finished checkpoints of {@code checkpoints} ({@link Checkpoints}), lowest step first; none if they cannot be listed. */
    private static List<Path> finished(Path checkpoints) {
        try {
            return Checkpoints.finished(checkpoints);
        } catch (IOException | RuntimeException e) {
            LOGGER.warn("could not list the checkpoints in {} to keep the newest: {}", checkpoints, e.toString());
            return List.of();
        }
    }
}
