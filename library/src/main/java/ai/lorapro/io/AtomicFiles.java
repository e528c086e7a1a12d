package ai.lorapro.io;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Writes files and directories so that readers see either the old content or the complete new
 * content, never a half-written one: everything is written under a temporary name in the target's
 * own directory (same file system), flushed to disk, then renamed over the target with {@link
 * StandardCopyOption#ATOMIC_MOVE}. On failure the temporary file or directory is deleted and the
 * target is left as it was.
 */
public final class AtomicFiles {

    private static final Logger LOGGER = LoggerFactory.getLogger(AtomicFiles.class);

    /** The length of the random part of a temporary or set-aside name ({@code name.tmp-<13>}). */
    public static final int SUFFIX_LENGTH = 13;

    private static final SecureRandom RANDOM = new SecureRandom();

    private AtomicFiles() {}

    /** Writes bytes to a stream; may throw {@link IOException}. */
    @FunctionalInterface
    public interface StreamWriter {
        /** Writes the whole content to {@code out} (the caller closes it). */
        void write(OutputStream out) throws IOException;
    }

    /** Fills a directory; may throw {@link IOException}. */
    @FunctionalInterface
    public interface DirectoryWriter {
        /** Writes the content of the (new, empty) directory {@code dir}. */
        void write(Path dir) throws IOException;
    }

    /** Atomically replaces {@code target} with {@code bytes}; missing parent directories are created. */
    public static void write(Path target, byte[] bytes) {
        write(target, out -> out.write(bytes));
    }

    /** Atomically replaces {@code target} with {@code text} in UTF-8. */
    public static void writeString(Path target, String text) {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Atomically replaces {@code target} with what {@code writer} writes. The content goes to a
     * temporary file next to the target, is forced to disk, then renamed over the target.
     *
     * @throws LoraProException if the file cannot be written; the target is then unchanged
     */
    public static void write(Path target, StreamWriter writer) {
        writeAll(Map.of(target, writer));
    }

    /**
     * Replaces files that belong together (an adapter's weights and its config) so that a failure
     * while writing changes none of them: each is written in full to a temporary file next to its
     * target and forced to disk, and only then are they renamed over their targets, in the map's
     * iteration order. A target that is a directory is refused before anything is renamed. A rename
     * that still fails (a file held open on Windows), or a crash between the renames, can leave the
     * targets before it new and the others old; the exception then names those already replaced.
     *
     * @param files the targets (missing parent directories are created) and what to write to each
     * @throws IllegalArgumentException if two targets are the same file
     * @throws LoraProException if a file cannot be written or renamed; no temporary file is left
     */
    public static void writeAll(Map<Path, StreamWriter> files) {
        Map<Path, Path> written = new LinkedHashMap<>();
        List<Path> replaced = new ArrayList<>();
        Path current = null;
        try {
            for (Map.Entry<Path, StreamWriter> file : files.entrySet()) {
                current = file.getKey();
                Path absolute = current.toAbsolutePath().normalize();
                if (Files.isDirectory(absolute)) {
                    throw new IOException("it is a directory");
                }
                Path dir = absolute.getParent();
                Files.createDirectories(dir);
                Path tmp = dir.resolve(tempName(absolute));
                if (written.putIfAbsent(absolute, tmp) != null) {
                    throw new IllegalArgumentException(current + " is named twice");
                }
                try (FileChannel ch =
                        FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                    file.getValue().write(out);
                    out.flush();
                    ch.force(true);
                }
            }
            Iterator<Map.Entry<Path, Path>> renames = written.entrySet().iterator();
            while (renames.hasNext()) {
                Map.Entry<Path, Path> rename = renames.next();
                current = rename.getKey();
                move(rename.getValue(), rename.getKey());
                renames.remove();
                replaced.add(rename.getKey());
                syncDirectory(rename.getKey().getParent());
            }
        } catch (IOException e) {
            throw new LoraProException("cannot write " + current + ": " + e
                    + (replaced.isEmpty() ? "" : " (already replaced: " + replaced + ")"), e);
        } finally {
            written.values().forEach(AtomicFiles::deleteQuietly);
        }
    }

    /**
     * Atomically publishes a directory: {@code writer} fills {@code <name>.tmp-<random>} next to
     * {@code target}, which is then renamed to {@code target}. An existing {@code target} is first
     * renamed aside to {@code <name>.old-<random>} and deleted only after the new directory is in
     * place (a copy that cannot be deleted then is only logged). A crash leaves the old or the new
     * directory under its name, except between the two renames, where the old one is left as its
     * {@code .old-} copy (a run directory puts such a checkpoint back at its next start); a crash
     * while writing leaves the {@code .tmp-} directory.
     *
     * @throws InvalidInputException if {@code target} is the current directory or holds it (the
     *     root among them), before anything is written
     * @throws LoraProException if the directory cannot be written; {@code target} is then unchanged
     */
    public static void publishDirectory(Path target, DirectoryWriter writer) {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null || Path.of("").toAbsolutePath().normalize().startsWith(absolute)) {
            // "." would be written into itself and then moved from under the process
            throw new InvalidInputException(target + ": cannot be replaced as a whole: it is the current directory or"
                    + " holds it; choose a new directory");
        }
        Path tmp = null;
        Abandon abandon = null;
        try {
            Files.createDirectories(parent);
            tmp = parent.resolve(tempName(absolute));
            Files.createDirectory(tmp);
            // a JVM stopped while writing (Ctrl-C in a merge of many gigabytes) deletes what it wrote
            abandon = new Abandon(tmp);
            try {
                Runtime.getRuntime().addShutdownHook(abandon);
            } catch (IllegalStateException shuttingDown) {
                // published from a shutdown path itself: without the hook, as before it existed
            }
            writer.write(tmp);
            // every file on disk before the rename publishes them: after a power cut the directory
            // is either the old one or the whole new one, never one of empty files
            syncTree(tmp);
            Path old = null;
            synchronized (abandon.lock) {
                if (abandon.started) {
                    throw new IOException("the JVM is shutting down");
                }
                if (Files.exists(absolute)) {
                    old = parent.resolve(absolute.getFileName() + ".old-" + uniqueSuffix());
                    move(absolute, old);
                }
                try {
                    move(tmp, absolute);
                } catch (IOException e) {
                    if (old != null) {
                        move(old, absolute);
                    }
                    throw e;
                }
                tmp = null;
            }
            syncDirectory(parent);
            if (old != null) {
                try {
                    deleteRecursively(old);
                } catch (IOException e) {
                    // the new directory is in place: the command succeeded, only the old copy stays
                    LOGGER.warn("{} is written; its previous copy {} could not be deleted: {}", target, old, e.toString());
                }
            }
        } catch (IOException e) {
            throw new LoraProException("cannot write directory " + target + ": " + e, e);
        } finally {
            if (tmp != null) {
                deleteRecursivelyQuietly(tmp);
            }
            if (abandon != null) {
                try {
                    Runtime.getRuntime().removeShutdownHook(abandon);
                } catch (IllegalStateException shuttingDown) {
                    // the hook runs, or has run
                }
                abandon.done.countDown();
            }
        }
    }

    /**
     * The shutdown hook of a directory being written: deletes it, unless its publication began
     * first (the two take the hook's lock, so a directory is never deleted while it is renamed
     * into place, nor renamed once it is being deleted).
     */
    private static final class Abandon extends Thread {
        private final Path tmp;
        /** Held by the hook while it deletes and by the publication while it renames. */
        private final Object lock = new Object();
        /** Counted down when the publication has ended, its writer included. */
        private final CountDownLatch done = new CountDownLatch(1);
        private boolean started;

        Abandon(Path tmp) {
            super("lorapro-abandon-" + tmp.getFileName());
            this.tmp = tmp;
        }

        @Override
        public void run() {
            synchronized (lock) {
                started = true;
            }
            // the writer runs on while hooks run, and may create files (or the directory) again:
            // delete, give the publication a moment to end, delete what it wrote meanwhile
            deleteRecursivelyQuietly(tmp);
            try {
                done.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            deleteRecursivelyQuietly(tmp);
        }
    }

    /**
     * Deletes a directory so that it is never seen half-deleted under its own name: it is first
     * renamed beside itself to {@code <name>.tmp-<random>} (what an interrupted {@link
     * #publishDirectory} leaves, and what a run directory removes at its next start), then deleted.
     * Links inside are deleted, not followed.
     *
     * @throws IOException if {@code dir} is not a directory (a symbolic link to one is refused, not
     *     followed), or cannot be renamed or deleted
     */
    public static void discardDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException(dir + " is not a directory");
        }
        Path doomed = dir.resolveSibling(tempName(dir));
        move(dir, doomed);
        deleteRecursively(doomed);
    }

    /** Deletes a file or directory tree; missing paths are ignored. */
    public static void deleteRecursively(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(
                path,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                            throws IOException {
                        Files.delete(file);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult postVisitDirectory(Path dir, IOException exc)
                            throws IOException {
                        if (exc != null) {
                            throw exc;
                        }
                        Files.delete(dir);
                        return FileVisitResult.CONTINUE;
                    }
                });
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            // same directory, so this only happens on file systems without rename(2) semantics
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Forces every file under {@code root}, then every directory, to the disk. */
    private static void syncTree(Path root) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                if (Files.isDirectory(p)) {
                    dirs.add(p);
                } else if (Files.isRegularFile(p)) {
                    try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                        ch.force(true);
                    }
                }
            }
        }
        dirs.forEach(AtomicFiles::syncDirectory);
    }

    /** Makes the rename durable; not every platform can open a directory, which is harmless. */
    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // the data itself is already on disk; only the rename may be lost on a power cut
        }
    }

    private static String tempName(Path target) {
        return target.getFileName() + ".tmp-" + uniqueSuffix();
    }

    /**
     * A fresh random suffix of {@link #SUFFIX_LENGTH} base-36 characters, always thirteen (the
     * largest unsigned long has thirteen): a name a person hardly types, so that a clean-up can
     * tell the temporary and set-aside entries of this class, and of its callers, from a user's
     * backups.
     */
    public static String uniqueSuffix() {
        String digits = Long.toUnsignedString(RANDOM.nextLong(), 36);
        return "0".repeat(SUFFIX_LENGTH - digits.length()) + digits;
    }

    private static void deleteQuietly(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            // the original failure is what the caller needs to see
        }
    }

    private static void deleteRecursivelyQuietly(Path path) {
        try {
            deleteRecursively(path);
        } catch (IOException e) {
            // the original failure is what the caller needs to see
        }
    }
}
