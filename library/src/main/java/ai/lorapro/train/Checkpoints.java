package ai.lorapro.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The one definition of a run's finished checkpoints, which retention ({@link CheckpointRetention}),
 * the latest-checkpoint hints and the command line's run directory all use: an entry of the run's
 * {@code checkpoints/} directory named as this library names checkpoints ({@link #name}: {@code
 * step-} and at least six digits), that is a directory (not a link to one) and holds a regular
 * {@value TrainerState#FILE_NAME}, which a checkpoint is published with. Anything else there (a
 * temporary copy, a link, a directory of another name or without that file) is no checkpoint.
 */
public final class Checkpoints {

    private static final Pattern STEP_NAME = Pattern.compile("step-(\\d{1,18})");

    private Checkpoints() {}

    /** The name of the checkpoint directory after {@code step}: {@code step-} and at least six digits. */
    public static String name(long step) {
        return String.format(Locale.ROOT, "step-%06d", step);
    }

    /**
     * The step of a directory named as {@link #name} names one, or -1 for any other name (such as
     * {@code step-4}, which this library never writes).
     *
     * @param dir a path whose last element is looked at
     * @return the step, or -1
     */
    public static long stepOf(Path dir) {
        Path fileName = dir.getFileName();
        String text = fileName == null ? "" : fileName.toString();
        Matcher m = STEP_NAME.matcher(text);
        if (!m.matches()) {
            return -1;
        }
        long step = Long.parseLong(m.group(1));
        return name(step).equals(text) ? step : -1;
    }

    /**
     * Whether {@code dir} is a finished checkpoint (see the class comment).
     *
     * @param dir an entry of a run's checkpoints directory
     * @return whether it is one
     */
    public static boolean isFinished(Path dir) {
        return stepOf(dir) >= 0 && Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
                && Files.isRegularFile(dir.resolve(TrainerState.FILE_NAME), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * The finished checkpoints in {@code checkpoints}, lowest step first; none when it does not exist.
     *
     * @param checkpoints a run's checkpoints directory
     * @return the checkpoints
     * @throws IOException if it exists but cannot be listed
     */
    public static List<Path> finished(Path checkpoints) throws IOException {
        try (Stream<Path> entries = Files.list(checkpoints)) {
            return entries.filter(Checkpoints::isFinished).sorted(Comparator.comparingLong(Checkpoints::stepOf)).toList();
        } catch (NoSuchFileException e) {
            return List.of();
        }
    }

    /**
     * The finished checkpoint of the highest step in {@code checkpoints}, or null when there is none
     * or the directory cannot be listed (for hints in messages).
     *
     * @param checkpoints a run's checkpoints directory
     * @return the checkpoint, or null
     */
    public static Path latest(Path checkpoints) {
        try {
            List<Path> all = finished(checkpoints);
            return all.isEmpty() ? null : all.get(all.size() - 1);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}
