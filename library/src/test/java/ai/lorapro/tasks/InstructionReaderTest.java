package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.data.jsonl.TextRecord;
import ai.lorapro.tasks.instruct.AlpacaTemplate;
import ai.lorapro.tasks.instruct.InstructionFormat;
import ai.lorapro.tasks.instruct.InstructionReader;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Instruction datasets in their published formats: MetaMathQA, Code-Feedback, WizardLM/ShareGPT. */
class InstructionReaderTest {

    @TempDir
    Path dir;

    private static final String ALPACA_HEAD = "Below is an instruction that describes a task. Write a response that "
            + "appropriately completes the request.\n\n### Instruction:\n";

    @Test
    void metaMathQaJsonArray() throws Exception {
        Path file = dir.resolve("MetaMathQA-395K.json");
        Files.writeString(file, "[\n  {\n    \"query\": \"Gracie and Joe are choosing numbers on the complex plane. "
                + "Joe chooses the point $1+2i$. Gracie chooses $-1+i$. How far apart are Gracie and Joe's points?\",\n"
                + "    \"response\": \"The distance is $\\\\sqrt{5}$. The answer is: \\\\sqrt{5}\",\n"
                + "    \"type\": \"MATH_AnsAug\",\n    \"original_question\": \"...\"\n  },\n"
                + "  {\"query\": \"What is 2+3?\", \"response\": \"2+3=5. The answer is: 5\", \"type\": \"GSM_Rephrased\"}\n]\n");
        Records<TextRecord> read = InstructionReader.read(InstructionFormat.METAMATH, file, false, BadRecords.fail());
        assertEquals(2, read.size());
        TextRecord second = read.records().get(1);
        assertEquals(ALPACA_HEAD + "What is 2+3?\n\n### Response:\n", second.prompt());
        assertEquals("2+3=5. The answer is: 5", second.completion());
        assertEquals(2, second.line());
        assertTrue(read.records().get(0).completion().endsWith("The answer is: \\sqrt{5}"));
    }

    /** Records after the array's ']' were dropped without a word; a bad byte was "cannot read: Input length = 1". */
    @Test
    void moreAfterTheArrayAndABadByteAreNamed() throws Exception {
        Path twoArrays = dir.resolve("two.json");
        Files.writeString(twoArrays, "[{\"query\": \"q\", \"response\": \"r\"}]\n[{\"query\": \"q2\", \"response\": \"r2\"}]\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> InstructionReader.read(InstructionFormat.METAMATH, twoArrays, false, BadRecords.skip()));
        assertTrue(e.getMessage().startsWith(twoArrays + ": more after the JSON array's closing ']'"), e.getMessage());
        Path badByte = dir.resolve("bad.jsonl");
        Files.write(badByte, "{\"id\": 1, \"query\": \"q\", \"answer\": \"a\"}\n{\"id\": 2, \"query\": \"\u00ff\"}\n"
                .replace('\u00ff', '?').getBytes(java.nio.charset.StandardCharsets.UTF_8));
        byte[] bytes = Files.readAllBytes(badByte);
        bytes[bytes.length - 4] = (byte) 0xFF;
        Files.write(badByte, bytes);
        e = assertThrows(InvalidInputException.class,
                () -> InstructionReader.read(InstructionFormat.CODEFEEDBACK, badByte, false, BadRecords.fail()));
        assertTrue(e.getMessage().startsWith(badByte + ":2: not UTF-8 text"), e.getMessage());
        // skipped like any bad record when asked (it stopped the read even then)
        Records<TextRecord> skipping = InstructionReader.read(InstructionFormat.CODEFEEDBACK, badByte, false,
                BadRecords.skip());
        assertEquals(1, skipping.size());
        assertEquals(1, skipping.skipped());
    }

    @Test
    void codeFeedbackJsonLinesMissingAnswerNamesTheLine() throws Exception {
        Path file = dir.resolve("code.jsonl");
        Files.writeString(file, "{\"id\": 1, \"query\": \"Reverse a list in Python.\", \"answer\": \"```python\\nxs[::-1]\\n```\"}\n"
                + "{\"id\": 2, \"query\": \"Sort it.\"}\n");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> InstructionReader.read(InstructionFormat.CODEFEEDBACK, file, false, BadRecords.fail()));
        assertEquals(file + ":2: missing field \"answer\"", e.getMessage());
        Records<TextRecord> read = InstructionReader.read(InstructionFormat.CODEFEEDBACK, file, false, BadRecords.skip());
        assertEquals(1, read.size());
        assertEquals(1, read.skipped());
        assertEquals("```python\nxs[::-1]\n```", read.records().get(0).completion());
    }

    @Test
    void wizardLmConversationsFirstTurnOrAllTurns() throws Exception {
        Path file = dir.resolve("wizardlm.json");
        Files.writeString(file, "[{\"idx\": \"abc\", \"conversations\": ["
                + "{\"from\": \"human\", \"value\": \"Name a prime.\"},"
                + "{\"from\": \"gpt\", \"value\": \"7\"},"
                + "{\"from\": \"human\", \"value\": \"Another?\"},"
                + "{\"from\": \"gpt\", \"value\": \"11\"}]},"
                + "{\"instruction\": \"Say hi.\", \"output\": \"Hi.\"},"
                + "{\"conversations\": [{\"from\": \"gpt\", \"value\": \"orphan\"}]}]");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> InstructionReader.read(InstructionFormat.WIZARDLM, file, false, BadRecords.fail()));
        assertEquals(file + ": element 3: \"conversations\" has no human turn followed by a gpt turn", e.getMessage());
        List<TextRecord> first = InstructionReader.read(InstructionFormat.WIZARDLM, file, false, BadRecords.skip()).records();
        assertEquals(2, first.size());
        assertEquals(AlpacaTemplate.prompt("Name a prime."), first.get(0).prompt());
        assertEquals("7", first.get(0).completion());
        assertEquals(AlpacaTemplate.prompt("Say hi."), first.get(1).prompt());
        List<TextRecord> all = InstructionReader.read(InstructionFormat.WIZARDLM, file, true, BadRecords.skip()).records();
        assertEquals(3, all.size());
        assertEquals(ALPACA_HEAD + "Name a prime.\n\n### Response:\n7\n\n### Instruction:\nAnother?\n\n### Response:\n",
                all.get(1).prompt());
        assertEquals("11", all.get(1).completion());
    }

    @Test
    void examplesCarryLossOnTheResponseOnly() {
        TextEncoder chars = TextEncoder.withSpecialTokens(
                text -> text.chars().mapToLong(c -> c).toArray(), 1, 2, TextEncoder.NONE);
        TextRecord record = TextRecord.promptResponse(AlpacaTemplate.prompt("Add 2 and 3."), "5", 1);
        Example example = InstructionReader.examples(java.nio.file.Path.of("records.jsonl"), List.of(record), chars, 1024).get(0);
        int promptLength = record.prompt().length();
        assertEquals(promptLength + 3, example.length());
        assertEquals(2, example.supervisedTokens());
        assertEquals(Example.IGNORE_INDEX, example.label(promptLength));
        assertEquals('5', example.label(promptLength + 1));
        assertEquals(2, example.label(promptLength + 2));
    }
}
