package ai.lorapro.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

class TextLinesTest {

    @TempDir
    Path dir;

    private List<String> lines(byte[] bytes) throws IOException {
        Path file = Files.write(dir.resolve("f.txt"), bytes);
        List<String> out = new ArrayList<>();
        try (TextLines lines = TextLines.open(file)) {
            for (String line; (line = lines.next()) != null; ) {
                out.add(line);
                assertEquals(out.size(), lines.number());
            }
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void linesEndAsBufferedReaderEndsThem() throws IOException {
        assertEquals(List.of("a", "", "b", "c", "d"), lines(utf8("a\n\nb\r\nc\rd")));
        assertEquals(List.of("a"), lines(utf8("a\n")));
        assertEquals(List.of("a", ""), lines(utf8("a\r\r\n")));
        assertEquals(List.of(), lines(new byte[0]));
        assertEquals(List.of("bom", "é €😀"), lines(utf8("\uFEFFbom\né €😀")));
    }

    @Test
    void aCrLfSplitAcrossChunksIsOneEnding() throws IOException {
        // 65,535 characters, then \r as the chunk's last byte and \n as the next chunk's first
        String first = "x".repeat((1 << 16) - 1);
        assertEquals(List.of(first, "y"), lines(utf8(first + "\r\ny")));
    }

    @Test
    void textThatIsNotUtf8IsNamedOnItsOwnLine() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int i = 1; i <= 2000; i++) {
            bytes.write(utf8("{\"text\": \"line " + i + "\"}"));
            if (i == 1000) {
                bytes.write(0xE9); // latin-1 é
            }
            bytes.write('\n');
        }
        Path file = Files.write(dir.resolve("latin1.jsonl"), bytes.toByteArray());
        try (TextLines lines = TextLines.open(file)) {
            InvalidInputException e = assertThrows(InvalidInputException.class, () -> {
                while (lines.next() != null) {
                    // read on
                }
            });
            assertEquals(file + ":1000: not UTF-8 text", e.getMessage());
        }
    }

    @Test
    void aLongLineIsRefusedOnItsLineBeforeItIsHeldWhole() throws IOException {
        Utf8LineReader reader = new Utf8LineReader(new ByteArrayInputStream(utf8("ok\n" + "😀".repeat(3) + "\n")), 5);
        assertEquals("ok", reader.readLine());
        // three four-byte characters are six UTF-16 characters
        Utf8LineReader.LineTooLongException e = assertThrows(Utf8LineReader.LineTooLongException.class,
                reader::readLine);
        assertEquals("longer than 5 characters", e.getMessage());
        assertEquals("ééééé", new Utf8LineReader(new ByteArrayInputStream(utf8("ééééé")), 5).readLine());
        // bytes that count no character (continuation bytes) are bounded too
        byte[] continuation = new byte[5000];
        java.util.Arrays.fill(continuation, (byte) 0x80);
        assertThrows(Utf8LineReader.LineTooLongException.class,
                () -> new Utf8LineReader(new ByteArrayInputStream(continuation), 100).readLine());
    }
}
