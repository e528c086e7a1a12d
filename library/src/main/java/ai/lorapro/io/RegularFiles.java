package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Input files are read only when they are regular files (after following symbolic links): a FIFO,
 * a device or a socket given as data, tokenizer, config or weights would block the reader forever
 * or never end, so it is refused at once.
 */
public final class RegularFiles {

    private RegularFiles() {}

    /**
     * Refuses an existing path that is not a regular file; a missing path is left to the reader,
     * which names it.
     *
     * @param file the file about to be read
     * @throws InvalidInputException naming the file
     */
    public static void requireRegularIfPresent(Path file) {
        if (Files.exists(file) && !Files.isRegularFile(file)) {
            String kind = Files.isDirectory(file) ? "a directory, where a file is expected" : Files.isSymbolicLink(file)
                    && !Files.exists(file, LinkOption.NOFOLLOW_LINKS) ? "a broken link" : "not a regular file"
                    + " (a FIFO, device or socket is not read)";
            throw new InvalidInputException(file + ": " + kind);
        }
    }
}
