package ai.lorapro.tasks;

import ai.lorapro.InvalidInputException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a task reader does with a bad record (a missing field, an unreadable line or image): fail
 * with the {@link InvalidInputException} naming the file and line, or skip the record and count it.
 * The first few skipped records are logged one by one, the rest only counted.
 */
public final class BadRecords {

    private static final Logger LOGGER = LoggerFactory.getLogger(BadRecords.class);
    private static final int REPORTED = 5;

    private final boolean skip;
    private int skipped;

    private BadRecords(boolean skip) {
        this.skip = skip;
    }

    /** A policy that fails on the first bad record. */
    public static BadRecords fail() {
        return new BadRecords(false);
    }

    /** A policy that skips and counts bad records. */
    public static BadRecords skip() {
        return new BadRecords(true);
    }

    /** {@link #skip()} when {@code skip} is true, else {@link #fail()}. */
    public static BadRecords of(boolean skip) {
        return new BadRecords(skip);
    }

    /**
     * Handles one bad record.
     *
     * @param error the error naming the file and line
     * @throws InvalidInputException {@code error} itself unless skipping
     */
    public void handle(InvalidInputException error) {
        if (!skip) {
            throw error;
        }
        if (skipped++ < REPORTED) {
            LOGGER.warn("skipping {}", error.getMessage());
        } else if (skipped == REPORTED + 1) {
            LOGGER.warn("more bad records follow; they are only counted");
        }
    }

    /** The records skipped so far. */
    public int skipped() {
        return skipped;
    }
}
