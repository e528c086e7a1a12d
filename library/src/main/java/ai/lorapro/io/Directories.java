package ai.lorapro.io;

import ai.lorapro.InvalidInputException;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/** What an output directory holds, asked before anything is written into it. */
public final class Directories {

    private Directories() {}

    /**
     * Whether {@code dir} is missing or an empty directory. A symbolic link counts as present (a
     * dangling one too), and is looked through when it leads to a directory.
     *
     * @throws InvalidInputException naming the directory when it cannot be listed
     */
    public static boolean isEmptyOrAbsent(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            return !entries.iterator().hasNext();
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot list: " + e.getMessage(), e);
        }
    }
}
