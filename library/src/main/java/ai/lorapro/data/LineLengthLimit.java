package ai.lorapro.data;

import java.io.FilterReader;
import java.io.IOException;
import java.io.Reader;

/**
 * A reader that fails once a line grows beyond a limit, before the line is held in memory: a
 * single 50 MB JSON line would otherwise be read, parsed and tokenized whole.
 */
final class LineLengthLimit extends FilterReader {

    /** Thrown when a line exceeds the limit. */
    static final class LineTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        LineTooLongException(long limit) {
            super("longer than " + limit + " characters");
        }
    }

    private final long limit;
    private long run;

    LineLengthLimit(Reader in, long limit) {
        super(in);
        this.limit = limit;
    }

    @Override
    public int read() throws IOException {
        int c = super.read();
        if (c >= 0) {
            count((char) c);
        }
        return c;
    }

    @Override
    public int read(char[] buffer, int offset, int length) throws IOException {
        int n = super.read(buffer, offset, length);
        for (int i = offset; i < offset + n; i++) {
            count(buffer[i]);
        }
        return n;
    }

    private void count(char c) throws LineTooLongException {
        if (c == '\n' || c == '\r') {
            run = 0;
        } else if (++run > limit) {
            throw new LineTooLongException(limit);
        }
    }
}
