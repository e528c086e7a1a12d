package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.tasks.TaskTrainer;
import ai.lorapro.train.Checkpoints;
import ai.lorapro.train.TrainingEngine;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A training run's output directory, claimed for the life of the run:
 *
 * <ul>
 *   <li>{@link RunDirectoryLock}: a second run into the same directory fails at once, naming the
 *       holder's PID;
 *   <li>a new run into a directory that holds checkpoints, a {@code metrics.jsonl}, a {@code
 *       loss.png} or an {@code eval/} is refused unless {@code --overwrite}: two runs' outputs
 *       never mix and no file is replaced unasked (a failed run's outputs cannot be told from a
 *       user's files of those names, so rerunning one takes {@code --overwrite} too);
 *   <li>{@code --resume} from this directory's own checkpoints continues its files; from another
 *       directory's, the rules of a new run apply;
 *   <li>what a new run replaces is set aside ({@code checkpoints.overwritten-x}, ...) and deleted
 *       when the run publishes its first whole checkpoint (or completes), and put back if it fails
 *       before; after a run that was killed, the next start does the same;
 *   <li>in a directory a run has used (its lock file is there), the temporary copies of these
 *       outputs that an interrupted run left ({@code metrics.jsonl.tmp-x}, {@code
 *       checkpoints/step-000010.tmp-x}, x thirteen random characters) are removed, and a
 *       checkpoint whose replacement was killed between its two renames is put back (the lock
 *       guarantees no other run is writing them); no other entry is ever touched;
 *   <li>a directory the claim created is removed again if the run wrote nothing into it, and so
 *       are the empty parents it created with it ({@code --out runs/new --run-name a}).
 * </ul>
 */
public final class RunDirectory implements AutoCloseable {

    /**
     * The run's own entries: what a previous run leaves that a new one replaces (set aside with
     * {@code --overwrite}), and the only names whose leftovers are removed.
     */
    private static final List<String> OUTPUTS = List.of(TrainingEngine.CHECKPOINTS_DIR, TrainingEngine.METRICS_FILE,
            TrainingEngine.PLOT_FILE, TaskTrainer.EVAL_DIR);
    /** {@link AtomicFiles}'s suffixes of a temporary and a set-aside entry: {@code .tmp-x}, {@code .old-x}. */
    private static final String ATOMIC_SUFFIX = "\\.(tmp|old)-[0-9a-z]{" + AtomicFiles.SUFFIX_LENGTH + "}";
    /**
     * What the previous run's set-aside files are called while a new run is on: {@code
     * name.overwritten-} and 13 random characters, a name no user gives a file.
     */
    private static final String SET_ASIDE = ".overwritten-";
    private static final String SET_ASIDE_SUFFIX = Pattern.quote(SET_ASIDE) + "[0-9a-z]{" + AtomicFiles.SUFFIX_LENGTH + "}";
    /**
     * What an interrupted run of this library leaves in the run directory: its outputs' temporary
     * and old copies, and nothing else (a user's {@code notes.old-1} stays).
     */
    private static final Pattern LEFTOVER = Pattern.compile("(" + String.join("|",
            OUTPUTS.stream().map(Pattern::quote).toList()) + ")" + ATOMIC_SUFFIX);
    /** The same in {@code checkpoints/}: a checkpoint's temporary or old copy. */
    private static final Pattern CHECKPOINT_LEFTOVER = Pattern.compile("step-[0-9]+" + ATOMIC_SUFFIX);
    /** The old copy of a checkpoint that a publication was replacing, the checkpoint's name first. */
    private static final Pattern REPLACED_CHECKPOINT =
            Pattern.compile("(step-[0-9]+)\\.old-[0-9a-z]{" + AtomicFiles.SUFFIX_LENGTH + "}");
    private static final Pattern ANY = Pattern.compile(".*", Pattern.DOTALL);
    /** Any name but the lock file's. */
    private static final Pattern NOT_THE_LOCK =
            Pattern.compile("(?!" + Pattern.quote(RunDirectoryLock.FILE_NAME) + "$).*", Pattern.DOTALL);
    private static final Logger LOGGER = LoggerFactory.getLogger(RunDirectory.class);

    private final Path dir;
    /** The highest directory the claim created ({@code dir} or an ancestor), or null if {@code dir} existed. */
    private final Path createdTop;
    private final RunDirectoryLock lock;
    private final List<Path[]> setAside = new ArrayList<>();
    private boolean completed;

    private RunDirectory(Path dir, Path createdTop, RunDirectoryLock lock) {
        this.dir = dir;
        this.createdTop = createdTop;
        this.lock = lock;
    }

    /**
     * Whether {@code resume} is one of {@code dir}'s own checkpoints, so that a run resuming it
     * continues the run in {@code dir} (it need not exist yet: a crashed run's set-aside checkpoints
     * come back when the directory is claimed).
     */
    static boolean continues(Path dir, Path resume) {
        return resume != null && OutputDirectoryGuard.canonical(resume)
                .startsWith(OutputDirectoryGuard.canonical(dir.resolve(TrainingEngine.CHECKPOINTS_DIR)));
    }

    /**
     * Claims {@code dir} for a run.
     *
     * @param dir the run's output directory (created when missing)
     * @param resume the checkpoint the run continues from ({@code --resume}), or null for a new run
     * @param overwrite the user allowed replacing a previous run's outputs ({@code --overwrite})
     * @return the claimed directory; close it when the run ends
     * @throws InvalidInputException when another run holds the directory, or it holds another
     *     run's outputs and no flag says what to do
     */
    public static RunDirectory claim(Path dir, Path resume, boolean overwrite) {
        Path created = highestMissing(dir);
        // only where a run of this library has been (its lock file stays) are leftovers looked for
        boolean usedBefore = Files.exists(dir.resolve(RunDirectoryLock.FILE_NAME));
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new InvalidInputException("--out: cannot create " + dir + ": " + e.getMessage());
        }
        RunDirectoryLock lock;
        try {
            lock = RunDirectoryLock.acquire(dir, "--out");
        } catch (InvalidInputException e) {
            throw e; // held by another run, which may have created the directory itself: nothing to tidy
        } catch (RuntimeException e) {
            removeIfCreated(dir, created);
            throw e;
        }
        RunDirectory run = new RunDirectory(dir, created, lock);
        try {
            if (usedBefore) {
                run.recoverAfterCrash();
            }
            Path checkpoints = dir.resolve(TrainingEngine.CHECKPOINTS_DIR);
            if (continues(dir, resume)) {
                return run;
            }
            if (resume != null && OutputDirectoryGuard.canonical(resume).equals(OutputDirectoryGuard.canonical(dir))) {
                Path latest = Checkpoints.latest(checkpoints);
                throw new InvalidInputException("--resume " + resume + " is the run directory, not a checkpoint: resume"
                        + " from one of its checkpoints" + (latest == null ? "" : ", such as the latest, " + latest));
            }
            // a new run, or a checkpoint continued into another directory: the same rules
            String how = resume == null
                    ? "pass --resume CHECKPOINT to continue it, --overwrite to replace it, or choose another directory"
                    : "resume into that run's own directory or into a new one";
            if (hasEntries(checkpoints)) {
                if (!overwrite) {
                    throw new InvalidInputException("--out: " + dir + " holds another run's checkpoints ("
                            + checkpoints + "); " + how);
                }
            } else if (!overwrite) {
                for (String name : OUTPUTS) {
                    Path output = dir.resolve(name);
                    if (holdsSomething(output)) {
                        throw new InvalidInputException("--out: " + dir + " holds " + name + ", which this run would"
                                + " replace; " + (resume == null ? "pass --overwrite to replace it, or choose another"
                                + " directory" : how));
                    }
                }
            }
            for (String name : OUTPUTS) {
                run.setAside(dir.resolve(name));
            }
            return run;
        } catch (RuntimeException e) {
            try {
                run.close();
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /**
     * Whether {@code name} is one of a run's own outputs in its directory ({@code checkpoints},
     * {@code metrics.jsonl}, {@code loss.png}, {@code eval}): a run named so would be taken for it.
     */
    static boolean isOutputName(String name) {
        return OUTPUTS.contains(name);
    }

    /**
     * Refuses inputs that lie in the outputs a run in {@code dir} replaces ({@code checkpoints/},
     * {@code eval/}, ...): {@code --overwrite} sets those aside before the inputs are read. An
     * input counts as inside when it, or any directory on its path, resolves into one (a link
     * {@code checkpoints/base -> /models/x} is moved aside with {@code checkpoints/}).
     *
     * @param inputs the input paths by the option that named them; null values are skipped
     * @throws InvalidInputException naming the option, the input and the output it lies in
     */
    static void requireNoInputInOutputs(Path dir, Map<String, Path> inputs) {
        for (String name : OUTPUTS) {
            Path output = OutputDirectoryGuard.canonical(dir.resolve(name));
            inputs.forEach((option, input) -> {
                if (input != null && reaches(input, output)) {
                    throw new InvalidInputException(option + " " + input + " lies in " + dir.resolve(name)
                            + ", which --overwrite replaces; move it or choose another --out");
                }
            });
        }
    }

    /** Whether {@code input}, or a directory on its path, resolves into {@code outputReal}. */
    private static boolean reaches(Path input, Path outputReal) {
        for (Path p = input.toAbsolutePath().normalize(); p != null; p = p.getParent()) {
            if (OutputDirectoryGuard.canonical(p).startsWith(outputReal)) {
                return true;
            }
        }
        return false;
    }

    /** The run directory. */
    public Path dir() {
        return dir;
    }

    /** Marks the run as finished: what {@code --overwrite} set aside is deleted on close. */
    public void completed() {
        completed = true;
    }

    /**
     * Called once each checkpoint of the run is published: from the first, the run has replaced
     * the one {@code --overwrite} set aside (a failure would no longer put it back, see {@link
     * #close}), so that run's outputs are deleted now rather than when this one ends, and the disk
     * never holds both runs' checkpoints for longer than it takes to write one.
     *
     * @param checkpoint the checkpoint just published (its directory)
     */
    public void checkpointPublished(Path checkpoint) {
        try {
            if (replacedWhatItSetAside()) {
                LOGGER.info("{} is published: deleting the previous run's outputs, which --overwrite set aside",
                        checkpoint.getFileName());
                tidySetAside(true);
            }
        } catch (RuntimeException e) {
            // tidying never ends a run: close() or the next start tries again
            LOGGER.warn("cannot delete the outputs --overwrite set aside in {} yet: {}", dir, e.toString());
        }
    }

    private void setAside(Path path) {
        if (Files.exists(path)) {
            Path aside = path.resolveSibling(path.getFileName() + SET_ASIDE + AtomicFiles.uniqueSuffix());
            try {
                Files.move(path, aside);
            } catch (IOException e) {
                throw new LoraProException("cannot move " + path + " aside: " + e.getMessage(), e);
            }
            setAside.add(new Path[] {path, aside});
        }
    }

    /**
     * Puts the directory back in order after a run that was killed: what an {@code --overwrite}
     * run set aside goes back unless that run wrote a checkpoint (then it is deleted, as {@link
     * #close} would have done), and the temporary copies of the outputs are removed.
     */
    private void recoverAfterCrash() {
        Path checkpoints = dir.resolve(TrainingEngine.CHECKPOINTS_DIR);
        try {
            // a checkpoint whose replacement was killed between its two renames: step-N.old-x is
            // the old one while step-N is missing
            for (Path old : entries(checkpoints, REPLACED_CHECKPOINT)) {
                Matcher m = REPLACED_CHECKPOINT.matcher(old.getFileName().toString());
                Path target = checkpoints.resolve(m.matches() ? m.group(1) : "");
                if (!Files.exists(target)) {
                    LOGGER.info("restoring {} that an interrupted run was replacing", target);
                    Files.move(old, target);
                }
            }
            removeAll(entries(dir, LEFTOVER));
            removeAll(entries(checkpoints, CHECKPOINT_LEFTOVER));
            boolean replaced = hasFinishedCheckpoint();
            // in reverse, as close() does: checkpoints last, or restored they would read as the killed run's
            for (int i = OUTPUTS.size() - 1; i >= 0; i--) {
                String name = OUTPUTS.get(i);
                for (Path aside : entries(dir, Pattern.compile(Pattern.quote(name) + SET_ASIDE_SUFFIX))) {
                    if (replaced) {
                        LOGGER.info("removing {}, which an interrupted --overwrite run replaced", aside);
                        removeOrWarn(aside);
                    } else {
                        LOGGER.info("restoring {} that an interrupted --overwrite run set aside", dir.resolve(name));
                        AtomicFiles.deleteRecursively(dir.resolve(name));
                        Files.move(aside, dir.resolve(name));
                    }
                }
            }
        } catch (IOException e) {
            throw new LoraProException("cannot restore the previous run's files in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Whether this run set something aside and has since published a checkpoint, which replaces it. */
    private boolean replacedWhatItSetAside() {
        return !setAside.isEmpty() && hasFinishedCheckpoint();
    }

    /** Whether {@code checkpoints/} holds a finished checkpoint (as {@link Checkpoints} defines one). */
    private boolean hasFinishedCheckpoint() {
        Path checkpoints = dir.resolve(TrainingEngine.CHECKPOINTS_DIR);
        try {
            return !Checkpoints.finished(checkpoints).isEmpty();
        } catch (IOException e) {
            throw new LoraProException("cannot list " + checkpoints + ": " + e.getMessage(), e);
        }
    }

    private static void removeAll(List<Path> leftovers) {
        for (Path entry : leftovers) {
            LOGGER.info("removing {} left by an interrupted run", entry);
            removeOrWarn(entry);
        }
    }

    /**
     * Deletes a leftover; one that cannot be deleted (a checkpoint made read-only, which {@code
     * --keep-checkpoints} renamed but could not delete) is only logged: it no longer has an
     * output's name, so the run can go on beside it, as the run that left it did.
     */
    private static void removeOrWarn(Path entry) {
        try {
            AtomicFiles.deleteRecursively(entry);
        } catch (IOException e) {
            LOGGER.warn("cannot remove {} (remove it yourself): {}", entry, e.toString());
        }
    }

    /**
     * Whether a run's output holds anything a new run would lose: a directory with entries, a file
     * with bytes (the empty metrics.jsonl of a run refused at its first step holds nothing), or
     * anything else that exists.
     */
    private static boolean holdsSomething(Path output) {
        if (Files.isDirectory(output, LinkOption.NOFOLLOW_LINKS)) {
            return hasEntries(output);
        }
        if (Files.isRegularFile(output, LinkOption.NOFOLLOW_LINKS)) {
            try {
                return Files.size(output) > 0;
            } catch (IOException e) {
                return true; // unreadable: kept, as anything unknown is
            }
        }
        return Files.exists(output, LinkOption.NOFOLLOW_LINKS);
    }

    /** The entries of {@code dir} whose names match {@code names}; none if it is no directory. */
    private static List<Path> entries(Path dir, Pattern names) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (names.matcher(entry.getFileName().toString()).matches()) {
                    out.add(entry);
                }
            }
        } catch (IOException e) {
            throw new LoraProException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static boolean hasEntries(Path dir) {
        return !entries(dir, ANY).isEmpty();
    }

    /**
     * Ends the claim: deletes or restores what {@code --overwrite} set aside, removes the
     * directory if this claim created it and the run wrote nothing, and releases the lock.
     */
    @Override
    public void close() {
        try {
            tidySetAside(completed || replacedWhatItSetAside());
        } finally {
            try {
                // while the lock is held, so that no run that takes it next loses its lock file
                if (createdTop != null && !completed) {
                    removeIfCreated(dir, createdTop);
                }
            } finally {
                lock.close();
            }
        }
    }

    /**
     * Deletes what {@code --overwrite} set aside when this run {@code replaced} it, else puts it
     * back; the list is empty afterwards. In reverse: checkpoints, set aside first, go back last
     * (see {@link #recoverAfterCrash}); each entry on its own, so that one that fails leaves the
     * others done (the next start finishes the rest).
     */
    private void tidySetAside(boolean replaced) {
        for (int i = setAside.size() - 1; i >= 0; i--) {
            Path[] moved = setAside.get(i);
            try {
                if (replaced) {
                    AtomicFiles.deleteRecursively(moved[1]);
                } else {
                    AtomicFiles.deleteRecursively(moved[0]);
                    Files.move(moved[1], moved[0]);
                }
            } catch (IOException e) {
                LOGGER.warn("cannot tidy {} in {}: {}", moved[1].getFileName(), dir, e.toString());
            }
        }
        setAside.clear();
    }

    /**
     * The highest of {@code dir} and its ancestors, as written (the file system resolves them as
     * creating and deleting them does, links included), that does not exist, or null if {@code dir}
     * does.
     */
    private static Path highestMissing(Path dir) {
        Path missing = null;
        for (Path p = dir; p != null && !Files.exists(p); p = p.getParent()) {
            missing = p;
        }
        return missing;
    }

    /**
     * Removes {@code dir} when the claim created it ({@code createdTop} not null) and it holds
     * nothing but the lock file, then its parents up to {@code createdTop} while they are empty; a
     * directory the run wrote into keeps its lock file too (it marks a run's directory).
     */
    private static void removeIfCreated(Path dir, Path createdTop) {
        if (createdTop == null) {
            return;
        }
        try {
            if (!entries(dir, NOT_THE_LOCK).isEmpty()) {
                return; // the run wrote something, which stays
            }
        } catch (LoraProException e) {
            return;
        }
        try {
            Files.deleteIfExists(dir.resolve(RunDirectoryLock.FILE_NAME));
            Files.deleteIfExists(dir);
            for (Path p = dir.getParent(); p != null && p.startsWith(createdTop); p = p.getParent()) {
                Files.deleteIfExists(p); // only while empty: a non-empty one stops here
            }
        } catch (IOException e) {
            // a file appeared meanwhile: it stays, and so does the directory
        }
    }
}
