package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.Directories;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The rule every command that writes an output directory follows: a command never deletes what it
 * did not create. An output directory may be replaced only when it does not exist or is empty, or
 * when the user said {@code --overwrite}; it may never be one of the command's input directories
 * (the model, the adapter) or lie inside one, and a directory that is replaced may not contain one
 * either, with or without {@code --overwrite}. Paths are compared after resolving symbolic links,
 * so a link to the model directory is the model directory. Commands that replace their output directory use {@link
 * #requireReplaceable}; commands that write files of fixed names into it use {@link
 * #requireEmptyUnless}; an empty path is refused by all.
 *
 * <pre>{@code
 * new OutputDirectoryGuard("--out", out)
 *         .protect("--model", model)
 *         .protect("--adapter", adapter)
 *         .requireReplaceable(overwrite);
 * }</pre>
 */
public final class OutputDirectoryGuard {

    private final String option;
    private final Path out;
    /** What each protected directory is, for messages ("the --model directory"). */
    private final List<String> protectedNames = new ArrayList<>();
    /** Whether an output may lie inside each protected directory (it replaces nothing of it). */
    private final List<Boolean> insideAllowed = new ArrayList<>();
    private final List<Path> protectedDirs = new ArrayList<>();
    /** Input files that may not lie in the output directory, by the option that named each. */
    private final Map<String, Path> protectedFiles = new LinkedHashMap<>();

    /**
     * A guard for one output directory.
     *
     * @param option the option that named it, for messages (e.g. {@code --out})
     * @param out the output directory
     */
    public OutputDirectoryGuard(String option, Path out) {
        this.option = option;
        this.out = out;
    }

    /**
     * Marks an input directory the output must never be, nor contain.
     *
     * @param inputOption the option that named it, for messages
     * @param dir the input directory; {@code null} is ignored (an option not given)
     * @return this guard
     */
    public OutputDirectoryGuard protect(String inputOption, Path dir) {
        return protectNamed("the " + inputOption + " directory", dir, false);
    }

    /**
     * Marks an input file that may not lie in the output directory, for a command that writes files
     * of fixed names there ({@link #requireEmptyUnless}): with {@code --overwrite} it would replace
     * an input of one of those names (an earlier run's {@code predictions.jsonl} given as data).
     *
     * @param inputOption the option that named the file, for messages
     * @param file the input file; {@code null} or a directory is ignored
     * @return this guard
     */
    public OutputDirectoryGuard protectFile(String inputOption, Path file) {
        if (file != null && !Files.isDirectory(file)) {
            protectedFiles.put(inputOption, file);
        }
        return this;
    }

    /**
     * Also marks the directories that the symbolic links in an input directory lead into: a
     * Hugging Face hub snapshot's files are links to {@code ../../blobs/<hash>}, and replacing
     * {@code blobs/} would delete the input's weights.
     *
     * @param inputOption the option that named the input directory, for messages
     * @param dir the input directory; {@code null} or a file is ignored
     * @return this guard
     */
    public OutputDirectoryGuard protectLinkTargets(String inputOption, Path dir) {
        if (dir == null || !Files.isDirectory(dir)) {
            return this;
        }
        Set<Path> targets = new LinkedHashSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                if (Files.isSymbolicLink(entry) && Files.exists(entry)) {
                    Path parent = entry.toRealPath().getParent();
                    if (parent != null) {
                        targets.add(parent);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        // replacing a directory below it deletes none of its files: only it, and what holds it, are refused
        targets.forEach(target -> protectNamed("the directory that " + inputOption + "'s files link into,", target,
                true));
        return this;
    }

    private OutputDirectoryGuard protectNamed(String name, Path dir, boolean outputInsideAllowed) {
        if (dir != null) {
            protectedNames.add(name);
            protectedDirs.add(dir);
            insideAllowed.add(outputInsideAllowed);
        }
        return this;
    }

    /**
     * Refuses an output that exists but is not a directory, that cannot be created (a file on its
     * path, a read-only parent), or that is, or lies inside, a protected input directory: for a
     * command that adds files to its output (one that contains an input is fine: nothing of it is
     * replaced).
     *
     * @throws InvalidInputException naming the option and the paths
     */
    public void requireUsable() {
        requireCreatable();
        refuseOverlaps(false);
    }

    /**
     * Refuses an output that is or lies inside a protected input and, with {@code
     * orContainsOne}, one that contains a protected input (replacing it would delete the input).
     */
    private void refuseOverlaps(boolean orContainsOne) {
        Path outReal = canonical(out);
        for (int i = 0; i < protectedDirs.size(); i++) {
            Path input = canonical(protectedDirs.get(i));
            String how = input.equals(outReal) ? " is "
                    : outReal.startsWith(input) && !insideAllowed.get(i) ? " lies inside "
                    : orContainsOne && input.startsWith(outReal) ? " contains " : null;
            if (how != null) {
                throw new InvalidInputException(option + ": " + out + how + protectedNames.get(i) + " "
                        + protectedDirs.get(i) + "; choose another output directory");
            }
        }
    }

    /**
     * Refuses what {@link #requireUsable()} refuses, and a non-empty output directory unless
     * {@code overwrite}: use it before a command writes files whose names may already be there
     * (it replaces those, and leaves the others).
     *
     * @param overwrite the user allowed writing into an existing, non-empty directory
     * @throws InvalidInputException naming the option and the directory
     */
    public void requireEmptyUnless(boolean overwrite) {
        requireUsable();
        Path outReal = canonical(out);
        protectedFiles.forEach((inputOption, file) -> {
            Path parent = canonical(file).getParent();
            if (outReal.equals(parent)) {
                throw new InvalidInputException(option + ": " + out + " holds the " + inputOption + " file " + file
                        + ": the command writes its files there; keep inputs out of it (choose another output"
                        + " directory, or move the file)");
            }
        });
        if (!overwrite && !Directories.isEmptyOrAbsent(out)) {
            throw new InvalidInputException(option + ": " + out + " is not empty; choose a new directory, or pass"
                    + " --overwrite to write into it (files of the same names are replaced)");
        }
    }

    /**
     * Refuses what {@link #requireUsable()} refuses, and a non-empty output directory unless
     * {@code overwrite}: use it before a command replaces the whole directory.
     *
     * @param overwrite the user allowed replacing an existing, non-empty directory
     * @throws InvalidInputException naming the option and the directory
     */
    public void requireReplaceable(boolean overwrite) {
        requireCreatable();
        refuseOverlaps(true);
        refuseWorkingOrHomeDirectory();
        if (!overwrite && !Directories.isEmptyOrAbsent(out)) {
            throw new InvalidInputException(option + ": " + out
                    + " is not empty; choose a new directory or pass --overwrite to replace it");
        }
    }

    /**
     * Refuses replacing the current directory or the home directory, or a directory holding either,
     * even with {@code --overwrite}: {@code --out .} or {@code --out ~} is never what was meant.
     */
    private void refuseWorkingOrHomeDirectory() {
        Path outReal = canonical(out);
        Map<String, Path> places = new LinkedHashMap<>();
        places.put("the current directory", Path.of(""));
        places.put("the home directory", Path.of(System.getProperty("user.home")));
        places.forEach((name, place) -> {
            Path real = canonical(place);
            if (real.startsWith(outReal)) {
                throw new InvalidInputException(option + ": " + out + (real.equals(outReal) ? " is " : " contains ")
                        + name + ", which replacing it would delete; choose a new directory");
            }
        });
    }

    /** Refuses a path whose nearest existing ancestor (or itself) is not a writable directory. */
    private void requireCreatable() {
        if (out.toString().isEmpty()) {
            throw new InvalidInputException(option + ": the path is empty (it would be the current directory;"
                    + " write . to mean that)");
        }
        Path existing = out.toAbsolutePath().normalize();
        while (existing != null && !Files.exists(existing)) {
            if (Files.isSymbolicLink(existing)) {
                // Files.exists follows it: creating through it fails only when the command writes, at the end
                throw new InvalidInputException(option + ": cannot create " + out + ": " + existing
                        + " is a link to " + linkTarget(existing) + ", which does not exist");
            }
            existing = existing.getParent();
        }
        if (existing == null) {
            return;
        }
        if (!Files.isDirectory(existing)) {
            throw new InvalidInputException(option + ": " + (existing.equals(out.toAbsolutePath().normalize())
                    ? out + " is not a directory" : "cannot create " + out + ": " + existing + " is not a directory"));
        }
        if (!Files.isWritable(existing)) {
            throw new InvalidInputException(option + ": cannot write " + out + ": " + existing + " is not writable");
        }
        requireMakeable(existing);
    }

    /**
     * Creates the missing directories of {@code out} below {@code existing} and deletes them again:
     * writable by the access check is not creatable everywhere ({@code /proc}, a read-only or full
     * file system, root's view of another user's mount), and a command finds out before its work,
     * not when it writes its results.
     */
    private void requireMakeable(Path existing) {
        Path target = out.toAbsolutePath().normalize();
        if (target.equals(existing)) {
            return;
        }
        List<Path> created = new ArrayList<>();
        try {
            for (Path dir = existing; !dir.equals(target); ) {
                dir = dir.resolve(target.getName(dir.getNameCount()));
                Files.createDirectory(dir);
                created.add(dir);
            }
        } catch (IOException | UnsupportedOperationException e) {
            throw new InvalidInputException(option + ": cannot create " + out + ": " + reason(e));
        } finally {
            for (int i = created.size() - 1; i >= 0; i--) {
                try {
                    Files.deleteIfExists(created.get(i));
                } catch (IOException e) {
                    // an empty directory left behind; the command creates it anyway
                }
            }
        }
    }

    /** Why a directory could not be made, in words rather than an exception's class name. */
    private static String reason(Exception e) {
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied (" + ((java.nio.file.FileSystemException) e).getFile() + ")";
        }
        if (e instanceof java.nio.file.NoSuchFileException) {
            // mkdir's ENOENT where the parent exists: a file system that takes no new directory (/proc)
            return "the file system takes no directory there (" + ((java.nio.file.FileSystemException) e).getFile()
                    + ")";
        }
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) {
            return fse.getReason() + " (" + fse.getFile() + ")";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    private static String linkTarget(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            return "a path";
        }
    }

    /**
     * The real path of {@code path}, or, for a path that does not exist yet, the real path of its
     * nearest existing ancestor with the remaining names appended.
     */
    static Path canonical(Path path) {
        Path absolute = path.toAbsolutePath().normalize();
        Path existing = absolute;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return absolute;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(absolute)).normalize();
        } catch (IOException e) {
            return absolute;
        }
    }
}
