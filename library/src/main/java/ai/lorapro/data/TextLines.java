package ai.lorapro.data;

import ai.lorapro.InvalidInputException;
import ai.lorapro.io.RegularFiles;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * The lines of a UTF-8 data file, numbered from 1, with a leading byte-order mark removed, each at
 * most {@link #MAX_LINE_CHARS} characters; only regular files are read ({@link RegularFiles}). Every
 * failure to read is an {@link InvalidInputException} naming the file (and the line, for text that
 * is not UTF-8: each line is decoded on its own, so it is that line), so the readers of each data
 * format only deal with their own syntax.
 *
 * <pre>{@code
 * try (TextLines lines = TextLines.open(file)) {
 *     for (String line; (line = lines.next()) != null; ) {
 *         ... lines.number() ...
 *     }
 * }
 * }</pre>
 */
public final class TextLines implements AutoCloseable {

    /** The longest line read (4 Mi characters); a longer one is refused before it is held whole. */
    public static final long MAX_LINE_CHARS = 4L << 20;

    private final Path file;
    private final Utf8LineReader reader;
    private long number;

    private TextLines(Path file, Utf8LineReader reader) {
        this.file = file;
        this.reader = reader;
    }

    /**
     * Opens {@code file}.
     *
     * @throws InvalidInputException if it does not exist or cannot be read
     */
    public static TextLines open(Path file) {
        RegularFiles.requireRegularIfPresent(file);
        try {
            return new TextLines(file, new Utf8LineReader(Files.newInputStream(file), MAX_LINE_CHARS));
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(file + ": no such file");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * The next line, or null at the end of the file.
     *
     * @throws InvalidInputException naming the file and line if it cannot be read
     */
    public String next() {
        String line;
        try {
            line = reader.readLine();
        } catch (CharacterCodingException e) {
            number++; // the line was read whole: the next call goes on after it
            throw new UndecodableLineException(file + ":" + number + ": not UTF-8 text");
        } catch (Utf8LineReader.LineTooLongException e) {
            throw new InvalidInputException(file + ":" + (number + 1) + ": line " + e.getMessage()
                    + " (the limit per record)");
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (line == null) {
            return null;
        }
        number++;
        return number == 1 && line.startsWith("\uFEFF") ? line.substring(1) : line;
    }

    /**
     * The next line that is UTF-8 text, or null at the end of the file; each line that is not goes
     * to {@code onBadLine} first, which throws to stop or returns to go on (a reader that skips bad
     * records counts it there).
     *
     * @throws InvalidInputException naming the file and line for what cannot be read at all
     */
    public String next(Consumer<InvalidInputException> onBadLine) {
        while (true) {
            try {
                return next();
            } catch (UndecodableLineException e) {
                onBadLine.accept(e);
            }
        }
    }

    /** A line that is not UTF-8: read whole, so that reading can go on after it. */
    private static final class UndecodableLineException extends InvalidInputException {
        UndecodableLineException(String message) {
            super(message);
        }
    }

    /** The number of the line {@link #next()} returned last (0 before the first). */
    public long number() {
        return number;
    }

    @Override
    public void close() {
        try {
            reader.close();
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot close: " + e.getMessage(), e);
        }
    }
}
