package ai.lorapro.data.jsonl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

class JsonlDatasetTest {

    private static final long BOS = 1;
    private static final long EOS = 2;
    private static final long I = Example.IGNORE_INDEX;

    /** One token per character: the character's code point plus 100. */
    private static final TextEncoder CHARS = TextEncoder.withSpecialTokens(
            text -> text.codePoints().mapToLong(c -> c + 100L).toArray(), BOS, EOS,
            TextEncoder.NONE);

    @TempDir
    Path dir;

    private Path file(String content) throws Exception {
        Path f = dir.resolve("data.jsonl");
        Files.writeString(f, content);
        return f;
    }

    private JsonlDataset load(Path f, int maxLength, boolean skip) {
        return JsonlDataset.builder().setFile(f).setEncoder(CHARS).optMaxLength(maxLength)
                .optSkipBadLines(skip).build();
    }

    @Test
    void promptTokensAreMaskedResponseAndEosAreLabelled() throws Exception {
        JsonlDataset d = load(file("{\"prompt\":\"ab\",\"response\":\"c\"}\n"), 64, false);
        Example e = d.examples().get(0);
        assertArrayEquals(new long[] {BOS, 197, 198, 199, EOS}, e.inputIds());
        assertArrayEquals(new long[] {I, I, I, 199, EOS}, e.labels());
        assertEquals(2, e.supervisedTokens());
    }

    @Test
    void textRecordsAreLabelledEverywhere() throws Exception {
        JsonlDataset d = load(file("{\"text\":\"xy\",\"id\":7}\n\n{\"text\":\"z\"}\n"), 64, false);
        assertEquals(2, d.size());
        Example e = d.examples().get(0);
        assertArrayEquals(new long[] {BOS, 220, 221, EOS}, e.inputIds());
        assertArrayEquals(e.inputIds(), e.labels());
    }

    @Test
    void truncationKeepsTheFirstTokens() throws Exception {
        JsonlDataset d = load(file("{\"prompt\":\"a\",\"response\":\"bcdef\"}\n"), 4, false);
        Example e = d.examples().get(0);
        assertArrayEquals(new long[] {BOS, 197, 198, 199}, e.inputIds());
        assertArrayEquals(new long[] {I, I, 198, 199}, e.labels());
        assertEquals(1, d.truncatedExamples());
    }

    @Test
    void recordsWithNoLossTokenLeftAreDropped() throws Exception {
        Path f = file("{\"prompt\":\"abcdef\",\"response\":\"g\"}\n{\"text\":\"hi\"}\n");
        JsonlDataset d = load(f, 4, false);
        assertEquals(1, d.size());
        assertEquals(1, d.droppedExamples());
    }

    @Test
    void encoderWithoutSpecialTokensAddsNone() throws Exception {
        TextEncoder plain = text -> text.codePoints().mapToLong(c -> c).toArray();
        JsonlDataset d = JsonlDataset.builder().setFile(file("{\"text\":\"ab\"}")).setEncoder(plain)
                .build();
        assertArrayEquals(new long[] {97, 98}, d.examples().get(0).inputIds());
        assertEquals(0, plain.effectivePadId());
        assertEquals(EOS, CHARS.effectivePadId());
    }

    @Test
    void malformedLineNamesFileAndLine() throws Exception {
        Path f = file("{\"text\":\"ok\"}\n{\"text\": \"unterminated\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> load(f, 64, false));
        assertTrue(e.getMessage().startsWith(f + ":2: malformed JSON"), e.getMessage());
        for (String bad : new String[] {"{'text':'x'}", "{\"text\":\"x\"} extra",
                "{text:\"x\"}", "nope"}) {
            Path g = file(bad + "\n");
            e = assertThrows(InvalidInputException.class, () -> load(g, 64, false), bad);
            assertTrue(e.getMessage().startsWith(g + ":1: malformed JSON"), e.getMessage());
        }
    }

    @Test
    void missingFieldNamesFileLineAndField() throws Exception {
        Path f = file("{\"text\":\"ok\"}\n{\"prompt\":\"q\"}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> load(f, 64, false));
        assertEquals(f + ":2: missing field \"response\"", e.getMessage());
        Path g = file("{\"body\":\"x\"}\n");
        e = assertThrows(InvalidInputException.class, () -> load(g, 64, false));
        assertTrue(e.getMessage().startsWith(g + ":1: missing field \"text\""), e.getMessage());
        Path h = file("{\"text\":5}\n");
        e = assertThrows(InvalidInputException.class, () -> load(h, 64, false));
        assertEquals(h + ":1: field \"text\" must be a string", e.getMessage());
        Path k = file("{\"text\":\"ok\"}\n[1,2]\n");
        e = assertThrows(InvalidInputException.class, () -> load(k, 64, false));
        assertEquals(k + ":2: expected a JSON object", e.getMessage());
    }

    /** A JSON array (a task's own format) given as JSON lines: said for what it is, even when skipping bad lines. */
    @Test
    void aJsonArrayFileIsNamedAsOneAndPointsToTheTasks() throws Exception {
        for (String array : new String[] {"[{\"query\": \"q\", \"response\": \"r\"}]\n", "\n  [\n  {\"query\": \"q\"}\n]\n",
                "\uFEFF[{\"query\": \"q\"}]", "\r\r  [{\"query\": \"q\"}]", "\r\n\r\n[{\"query\": \"q\"}]"}) {
            Path f = file(array);
            for (boolean skip : new boolean[] {false, true}) {
                InvalidInputException e = assertThrows(InvalidInputException.class, () -> load(f, 64, skip));
                int line = array.startsWith("\n") ? 2 : array.startsWith("\r") ? 3 : 1;
                assertTrue(e.getMessage().startsWith(f + ":" + line
                        + ": the file is a JSON array, not JSON lines") && e.getMessage().contains("--task NAME"),
                        e.getMessage());
            }
        }
    }

    @Test
    void skipModeCountsBadLines() throws Exception {
        Path f = file("{\"text\":\"ok\"}\nnope\n{\"prompt\":\"q\"}\n{\"text\":\"fine\"}\n");
        JsonlDataset d = load(f, 64, true);
        assertEquals(2, d.size());
        assertEquals(2, d.skippedLines());
    }

    @Test
    void emptyOrMissingFileIsAnError() throws Exception {
        Path f = file("\n  \n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> load(f, 64, false));
        assertTrue(e.getMessage().startsWith(f + ": no usable examples"), e.getMessage());
        Path g = file("bad\n");
        assertThrows(InvalidInputException.class, () -> load(g, 64, true));
        Path missing = dir.resolve("missing.jsonl");
        e = assertThrows(InvalidInputException.class, () -> load(missing, 64, false));
        assertEquals(missing + ": no such file", e.getMessage());
    }

    @Test
    void invalidUtf8NamesTheFile() throws Exception {
        Path f = dir.resolve("latin1.jsonl");
        Files.write(f, new byte[] {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xE9, '"',
            '}', '\n'});
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> load(f, 64, false));
        assertTrue(e.getMessage().contains("not UTF-8"), e.getMessage());
    }

    /** A line that is not UTF-8 is a bad line like any other: named by number, and skipped when asked. */
    @Test
    void aLineThatIsNotUtf8IsSkippedWhenAskedAndTheNextLinesKeepTheirNumbers() throws Exception {
        Path f = dir.resolve("mixed.jsonl");
        byte[] bad = {'{', '"', 't', 'e', 'x', 't', '"', ':', '"', (byte) 0xE9, '"', '}', '\n'};
        byte[] good = "{\"text\":\"ok\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] missing = "{\"body\":\"x\"}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        bytes.write(good);
        bytes.write(bad);
        bytes.write(good);
        bytes.write(missing);
        Files.write(f, bytes.toByteArray());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> load(f, 64, false));
        assertEquals(f + ":2: not UTF-8 text", e.getMessage());
        JsonlDataset skipping = load(f, 64, true);
        assertEquals(2, skipping.examples().size());
        assertEquals(2, skipping.skippedLines());
    }
}
