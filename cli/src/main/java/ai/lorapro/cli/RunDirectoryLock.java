package ai.lorapro.cli;

import ai.lorapro.InvalidInputException;
import ai.lorapro.LoraProException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on a run directory, held for the life of a training run: the file {@value
 * #FILE_NAME} in the directory, locked with the operating system's file lock (released by the
 * kernel when the process dies, even by {@code SIGKILL}) and holding the owner's process id. A
 * second run into the same directory, in this or another process, fails at once with the
 * holder's PID. The file itself stays after {@link #close()} (deleting a lock file races with a
 * process that opened it just before); only the kernel lock means "in use".
 */
public final class RunDirectoryLock implements AutoCloseable {

    /** The lock file inside the run directory. */
    public static final String FILE_NAME = ".lorapro-run.lock";

    private final Path file;
    private final FileChannel channel;
    private final FileLock lock;

    private RunDirectoryLock(Path file, FileChannel channel, FileLock lock) {
        this.file = file;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock on {@code dir} (which must exist), without waiting.
     *
     * @param dir the run directory
     * @param option the option that named it, for messages
     * @return the held lock
     * @throws InvalidInputException when another run holds it, naming that run's PID
     */
    public static RunDirectoryLock acquire(Path dir, String option) {
        Path file = dir.resolve(FILE_NAME);
        if (Files.isSymbolicLink(file)) {
            // writing our PID through it would truncate whatever file it names
            throw new InvalidInputException(option + ": " + file + " is a symbolic link; the run's lock file must be"
                    + " a plain file (remove the link)");
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                String holder = readHolder(channel);
                channel.close();
                throw new InvalidInputException(option + ": " + dir + " is in use by another run (PID "
                        + holder + "); wait for it to finish or choose another directory");
            }
            byte[] pid = (ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(pid), 0);
            channel.force(true);
            return new RunDirectoryLock(file, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new LoraProException("cannot lock " + file + ": " + e.getMessage(), e);
        }
    }

    /** The lock file. */
    public Path file() {
        return file;
    }

    private static String readHolder(FileChannel channel) {
        try {
            ByteBuffer buffer = ByteBuffer.allocate(32);
            channel.read(buffer, 0);
            String text = new String(buffer.array(), 0, buffer.position(), StandardCharsets.US_ASCII).strip();
            return text.matches("[0-9]{1,10}") ? text : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException e) {
                // reporting the original failure matters more
            }
        }
    }

    /** Releases the lock. */
    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException e) {
            // closing the channel below releases it too
        }
        closeQuietly(channel);
    }
}
