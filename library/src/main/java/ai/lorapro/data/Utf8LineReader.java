package ai.lorapro.data;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the lines of a UTF-8 byte stream one at a time, each decoded on its own: text that is not
 * UTF-8 fails on the line that holds it (a decoding reader reads thousands of bytes ahead, so the
 * failure would surface lines earlier), and a line that grows beyond a limit fails before it is
 * held whole. Lines end as {@link java.io.BufferedReader#readLine} has them: at {@code \n}, {@code
 * \r} or {@code \r\n}.
 */
final class Utf8LineReader implements Closeable {

    /** Thrown when a line exceeds the limit. */
    static final class LineTooLongException extends IOException {
        private static final long serialVersionUID = 1L;

        LineTooLongException(long limit) {
            super("longer than " + limit + " characters");
        }
    }

    private final InputStream in;
    /** The most UTF-16 characters a line may hold. */
    private final long maxChars;
    private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder(); // reports bad input
    private final byte[] chunk = new byte[1 << 16];
    private int position;
    private int end;
    private boolean endOfStream;
    /** The last line ended at {@code \r}: a {@code \n} right after it belongs to that ending. */
    private boolean skipLineFeed;
    private byte[] line = new byte[256];
    private int length;

    Utf8LineReader(InputStream in, long maxChars) {
        this.in = in;
        this.maxChars = maxChars;
    }

    /**
     * The next line without its ending, or null at the end of the stream.
     *
     * @throws CharacterCodingException if the line is not UTF-8
     * @throws LineTooLongException if it holds more than the limit's characters
     */
    String readLine() throws IOException {
        length = 0;
        long chars = 0;
        boolean started = false;
        while (true) {
            if (position == end && !fill()) {
                return started ? decodeLine() : null;
            }
            byte b = chunk[position++];
            if (skipLineFeed) {
                skipLineFeed = false;
                if (b == '\n') {
                    continue;
                }
            }
            if (b == '\n' || b == '\r') {
                skipLineFeed = b == '\r';
                return decodeLine();
            }
            started = true;
            // UTF-16 length of valid UTF-8: one per lead byte, two for a four-byte sequence
            if ((b & 0xC0) != 0x80) {
                chars += (b & 0xF8) == 0xF0 ? 2 : 1;
                if (chars > maxChars) {
                    throw new LineTooLongException(maxChars);
                }
            }
            if (length == line.length) {
                if (length >= 4 * maxChars) {
                    // more bytes than any UTF-8 line of the limit's characters holds (a run of
                    // continuation bytes counts no character): refused before it grows on
                    throw new LineTooLongException(maxChars);
                }
                line = Arrays.copyOf(line, (int) Math.min(2L * length, 4 * maxChars));
            }
            line[length++] = b;
        }
    }

    /** Reads the next chunk; false at the end of the stream. */
    private boolean fill() throws IOException {
        if (endOfStream) {
            return false;
        }
        int n = in.read(chunk, 0, chunk.length);
        if (n <= 0) {
            endOfStream = true;
            return false;
        }
        position = 0;
        end = n;
        return true;
    }

    private String decodeLine() throws CharacterCodingException {
        decoder.reset();
        return decoder.decode(ByteBuffer.wrap(line, 0, length)).toString();
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
