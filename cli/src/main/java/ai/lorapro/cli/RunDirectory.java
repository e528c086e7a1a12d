package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.train.TrainingEngine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A training run's output directory, claimed for the life of the run:
 *
 * <ul>
 *   <li>{@link RunDirectoryLock}: a second run into the same directory fails at once, naming the
 *       holder's PID;
 *   <li>a new run (neither {@code --resume} nor {@code --overwrite}) into a directory that holds
 *       another run's checkpoints is refused, so two runs' checkpoints never mix;
 *   <li>with {@code --overwrite}, the previous run's {@code checkpoints/} and metrics are set
 *       aside and deleted only when the new run completes, and put back if it fails before
 *       writing a checkpoint of its own;
 *   <li>temporary {@code *.tmp-*} and {@code *.old-*} entries that an interrupted run of this
 *       library left in the directory or in {@code checkpoints/} are removed (the lock guarantees
 *       no other run is writing them);
 *   <li>a directory the claim created is removed again if the run wrote nothing into it.
 * </ul>
 */
public final class RunDirectory implements AutoCloseable {

    /** What {@link AtomicFiles} names its temporary and set-aside entries: {@code name.tmp-x}, {@code name.old-x}. */
    private static final Pattern LEFTOVER = Pattern.compile(".+\\.(tmp|old)-[0-9a-z]+");
    /** What the previous run's set-aside files are called while a new {@code --overwrite} run is on. */
    private static final String SET_ASIDE = ".overwritten";
    private static final Logger LOGGER = LoggerFactory.getLogger(RunDirectory.class);

    private final Path dir;
    private final boolean created;
    private final RunDirectoryLock lock;
    private final List<Path[]> setAside = new ArrayList<>();
    private boolean completed;

    private RunDirectory(Path dir, boolean created, RunDirectoryLock lock) {
        this.dir = dir;
        this.created = created;
        this.lock = lock;
    }

    /**
     * Claims {@code dir} for a run.
     *
     * @param dir the run's output directory (created when missing)
     * @param resume the run continues from a checkpoint ({@code --resume})
     * @param overwrite the user allowed replacing a previous run's outputs ({@code --overwrite})
     * @return the claimed directory; close it when the run ends
     * @throws InvalidInputException when another run holds the directory, or it holds another
     *     run's checkpoints and neither flag says what to do
     */
    public static RunDirectory claim(Path dir, boolean resume, boolean overwrite) {
        boolean created = !Files.exists(dir);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new InvalidInputException("--out: cannot create " + dir + ": " + e.getMessage());
        }
        RunDirectoryLock lock;
        try {
            lock = RunDirectoryLock.acquire(dir, "--out");
        } catch (RuntimeException e) {
            removeIfCreated(dir, created);
            throw e;
        }
        RunDirectory run = new RunDirectory(dir, created, lock);
        try {
            run.removeLeftovers();
            Path checkpoints = dir.resolve(TrainingEngine.CHECKPOINTS_DIR);
            if (!resume && hasEntries(checkpoints)) {
                if (!overwrite) {
                    throw new InvalidInputException("--out: " + dir + " holds another run's checkpoints ("
                            + checkpoints + "); pass --resume CHECKPOINT to continue it, --overwrite to replace it,"
                            + " or choose another directory");
                }
                run.setAside(checkpoints);
                run.setAside(dir.resolve(TrainingEngine.METRICS_FILE));
                run.setAside(dir.resolve(TrainingEngine.PLOT_FILE));
            }
            return run;
        } catch (RuntimeException e) {
            run.close();
            throw e;
        }
    }

    /** The run directory. */
    public Path dir() {
        return dir;
    }

    /** Marks the run as finished: what {@code --overwrite} set aside is deleted on close. */
    public void completed() {
        completed = true;
    }

    private void setAside(Path path) {
        if (Files.exists(path)) {
            Path aside = path.resolveSibling(path.getFileName() + SET_ASIDE);
            try {
                AtomicFiles.deleteRecursively(aside);
                Files.move(path, aside);
            } catch (IOException e) {
                throw new LoraProException("cannot move " + path + " aside: " + e.getMessage(), e);
            }
            setAside.add(new Path[] {path, aside});
        }
    }

    private void removeLeftovers() {
        for (Path parent : List.of(dir, dir.resolve(TrainingEngine.CHECKPOINTS_DIR))) {
            if (!Files.isDirectory(parent)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent)) {
                for (Path entry : entries) {
                    String name = entry.getFileName().toString();
                    if (LEFTOVER.matcher(name).matches() || name.endsWith(SET_ASIDE)) {
                        LOGGER.info("removing {} left by an interrupted run", entry);
                        AtomicFiles.deleteRecursively(entry);
                    }
                }
            } catch (IOException e) {
                throw new LoraProException("cannot clean " + parent + ": " + e.getMessage(), e);
            }
        }
    }

    private static boolean hasEntries(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            return entries.iterator().hasNext();
        } catch (IOException e) {
            throw new LoraProException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * Ends the claim: deletes or restores what {@code --overwrite} set aside, removes the
     * directory if this claim created it and the run wrote nothing, and releases the lock.
     */
    @Override
    public void close() {
        try {
            boolean replaced = completed || Files.exists(dir.resolve(TrainingEngine.CHECKPOINTS_DIR));
            for (Path[] moved : setAside) {
                if (replaced) {
                    AtomicFiles.deleteRecursively(moved[1]);
                } else {
                    AtomicFiles.deleteRecursively(moved[0]);
                    Files.move(moved[1], moved[0]);
                }
            }
        } catch (IOException e) {
            LOGGER.warn("cannot tidy the previous run's files in {}: {}", dir, e.toString());
        } finally {
            lock.close();
            if (created && !completed) {
                removeIfCreated(dir, true);
            }
        }
    }

    /** Removes {@code dir} when {@code created} and it holds nothing but the lock file. */
    private static void removeIfCreated(Path dir, boolean created) {
        if (!created) {
            return;
        }
        try {
            Files.deleteIfExists(dir.resolve(RunDirectoryLock.FILE_NAME));
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // DirectoryNotEmptyException: the run wrote something, which stays
        }
    }
}
