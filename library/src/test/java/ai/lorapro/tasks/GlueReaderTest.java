package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.tasks.glue.GlueEvaluation;
import ai.lorapro.tasks.glue.GlueExample;
import ai.lorapro.tasks.glue.GlueReader;
import ai.lorapro.tasks.glue.GlueTask;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** GLUE TSV and JSON-lines readers on samples in the distribution's formats, and GLUE accuracy. */
class GlueReaderTest {

    @TempDir
    Path dir;

    private Path write(String name, String... lines) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, String.join("\n", lines) + "\n");
        return file;
    }

    @Test
    void sst2TsvHasASentenceLabelHeader() throws Exception {
        Path file = write("train.tsv", "sentence\tlabel",
                "hide new secretions from the parental units \t0",
                "the film 's \" gripping \" , funny and \" wild \t1");
        Records<GlueExample> read = GlueReader.read(GlueTask.SST2, file, BadRecords.fail());
        assertEquals(2, read.size());
        assertEquals("sst2 sentence: hide new secretions from the parental units", read.records().get(0).input());
        assertEquals("negative", read.records().get(0).target());
        // unpaired quotes are text, not CSV quoting
        assertEquals("sst2 sentence: the film 's \" gripping \" , funny and \" wild", read.records().get(1).input());
        assertEquals("positive", read.records().get(1).target());
        assertEquals(3, read.records().get(1).line());
    }

    @Test
    void colaTsvHasNoHeaderAndFourColumns() throws Exception {
        Path file = write("dev.tsv",
                "gj04\t1\t\tOur friends won't buy this analysis, let alone the next one we propose.",
                "gj04\t0\t*\tThey drank the pub \"dry.",
                "clc95\t1\t\tThe sailors rode the breeze clear of the rocks.");
        List<GlueExample> read = GlueReader.read(GlueTask.COLA, file, BadRecords.fail()).records();
        assertEquals(3, read.size());
        assertEquals("cola sentence: Our friends won't buy this analysis, let alone the next one we propose.",
                read.get(0).input());
        assertEquals("acceptable", read.get(0).target());
        assertEquals("cola sentence: They drank the pub \"dry.", read.get(1).input());
        assertEquals("unacceptable", read.get(1).target());
        assertEquals(1, read.get(0).line());
    }

    @Test
    void colaTestSplitWithAHeaderIsRejected() throws Exception {
        Path file = write("test.tsv", "index\tsentence", "0\tBill whistled past the house.");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> GlueReader.read(GlueTask.COLA, file, BadRecords.fail()));
        assertTrue(e.getMessage().startsWith(file + ":1:"), e.getMessage());
    }

    @Test
    void mrpcTsvWithByteOrderMark() throws Exception {
        Path file = write("train.tsv", "\uFEFFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String",
                "1\t702876\t702977\tAmrozi accused his brother , whom he called \" the witness \" .\tReferring to him "
                        + "only as \" the witness \" , Amrozi accused his brother .",
                "0\t2108705\t2108831\tYucaipa owned Dominick 's .\tYucaipa bought Dominick 's in 1995 .");
        List<GlueExample> read = GlueReader.read(GlueTask.MRPC, file, BadRecords.fail()).records();
        assertEquals("mrpc sentence1: Amrozi accused his brother , whom he called \" the witness \" . sentence2: "
                + "Referring to him only as \" the witness \" , Amrozi accused his brother .", read.get(0).input());
        assertEquals("equivalent", read.get(0).target());
        assertEquals("not_equivalent", read.get(1).target());
    }

    @Test
    void qnliTsvUsesLabelWords() throws Exception {
        Path file = write("dev.tsv", "index\tquestion\tsentence\tlabel",
                "0\tWhat came into force after the new constitution was herald?\tAs of that day, the new constitution "
                        + "heralding the Second Republic came into force.\tentailment",
                "1\tWhat is the first major city in the stream of the Rhine?\tThe most important tributaries in this "
                        + "area are the Ill below of Strasbourg.\tnot_entailment");
        List<GlueExample> read = GlueReader.read(GlueTask.QNLI, file, BadRecords.fail()).records();
        assertTrue(read.get(0).input().startsWith("qnli question: What came into force"));
        assertTrue(read.get(0).input().contains(" sentence: As of that day"));
        assertEquals(List.of(0, 1), read.stream().map(GlueExample::label).toList());
    }

    @Test
    void mnliDevMatchedUsesSentenceColumnsAndGoldLabel() throws Exception {
        String header = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
                + "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label";
        Path file = write("dev_matched.tsv", header,
                "0\t63735\t63735n\tslate\t( ( The ( new rights ) ) ...\t( ( Everyone ) ... )\t(ROOT ...)\t(ROOT ...)\t"
                        + "The new rights are nice enough\tEveryone really likes the newest benefits \tneutral\tentailment"
                        + "\tneutral\tneutral\tneutral\tneutral",
                "1\t91383\t91383c\tgovernment\t( ... )\t( ... )\t(ROOT ...)\t(ROOT ...)\tThis site includes a list of "
                        + "all award winners.\tThe Government Executive articles housed on the website are not able to "
                        + "be searched.\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction");
        List<GlueExample> read = GlueReader.read(GlueTask.MNLI, file, BadRecords.fail()).records();
        assertEquals("mnli hypothesis: Everyone really likes the newest benefits premise: The new rights are nice enough",
                read.get(0).input());
        assertEquals("neutral", read.get(0).target());
        assertEquals("contradiction", read.get(1).target());
    }

    @Test
    void huggingFaceJsonLinesUseIntegerLabels() throws Exception {
        Path mnli = write("mnli.jsonl",
                "{\"premise\": \"Conceptually cream skimming has two basic dimensions.\", \"hypothesis\": "
                        + "\"Product and geography are what make cream skimming work.\", \"label\": 1, \"idx\": 0}");
        GlueExample example = GlueReader.read(GlueTask.MNLI, mnli, BadRecords.fail()).records().get(0);
        assertEquals("mnli hypothesis: Product and geography are what make cream skimming work. premise: "
                + "Conceptually cream skimming has two basic dimensions.", example.input());
        assertEquals("neutral", example.target());
        Path sst2 = write("sst2.jsonl", "{\"sentence\": \"it 's a charming journey . \", \"label\": 1, \"idx\": 0}");
        assertEquals("positive", GlueReader.read(GlueTask.SST2, sst2, BadRecords.fail()).records().get(0).target());
    }

    @Test
    void badRecordsFailNamingFileAndLineOrAreSkippedAndCounted() throws Exception {
        Path file = write("qnli.jsonl",
                "{\"question\": \"q1\", \"sentence\": \"s1\", \"label\": 0}",
                "{\"question\": \"q2\", \"label\": 1}",
                "{\"question\": \"q3\", \"sentence\": \"s3\", \"label\": -1}",
                "not json",
                "{\"question\": \"q5\", \"sentence\": \"s5\", \"label\": 1}");
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> GlueReader.read(GlueTask.QNLI, file, BadRecords.fail()));
        assertEquals(file + ":2: missing field \"sentence\"", e.getMessage());
        Path malformed = write("bad.jsonl", "{\"question\": \"q\", \"sentence\": }");
        String message = assertThrows(InvalidInputException.class,
                () -> GlueReader.read(GlueTask.QNLI, malformed, BadRecords.fail())).getMessage();
        assertTrue(message.startsWith(malformed + ":1: malformed JSON: ") && !message.contains("Exception"), message);
        Path notJson = write("words.jsonl", "not json");
        message = assertThrows(InvalidInputException.class,
                () -> GlueReader.read(GlueTask.QNLI, notJson, BadRecords.fail())).getMessage();
        assertEquals(notJson + ":1: malformed JSON: syntax error at line 1 column 1", message);
        Records<GlueExample> read = GlueReader.read(GlueTask.QNLI, file, BadRecords.skip());
        assertEquals(2, read.size());
        assertEquals(3, read.skipped());
        Path tsv = write("sst.tsv", "sentence\tlabel", "good\t1", "too\tmany\tcolumns", "fine\t0");
        InvalidInputException t = assertThrows(InvalidInputException.class,
                () -> GlueReader.read(GlueTask.SST2, tsv, BadRecords.fail()));
        assertTrue(t.getMessage().startsWith(tsv + ":3: expected 2 tab-separated columns"), t.getMessage());
    }

    @Test
    void seq2seqExamplesSplitBackIntoSourceAndTarget() {
        TextEncoder words = TextEncoder.withSpecialTokens(
                text -> text.chars().mapToLong(c -> c).toArray(), TextEncoder.NONE, 1, 0);
        Seq2SeqExamples encoder = new Seq2SeqExamples(words, 6, 4);
        Example a = encoder.encode("abcdefgh", "xyzzy");
        Example b = encoder.encode("ab", "q");
        assertEquals(List.of(97L, 98L, 99L, 100L, 101L, 1L), toList(a.inputIds(), 0, 6));
        assertEquals(Example.IGNORE_INDEX, a.label(5));
        assertEquals(List.of(120L, 121L, 122L, 1L), toList(a.labels(), 6, 10));
        Seq2SeqExamples.Split split = Seq2SeqExamples.split(Batch.collate(List.of(b, a), 0), 0);
        assertEquals(List.of(97L, 98L, 1L, 0L, 0L, 0L), toList(split.sourceIds()[0], 0, 6));
        assertEquals(List.of(1L, 1L, 1L, 0L, 0L, 0L), toList(split.sourceMask()[0], 0, 6));
        assertEquals(List.of(113L, 1L, Example.IGNORE_INDEX, Example.IGNORE_INDEX), toList(split.labels()[0], 0, 4));
        assertEquals(List.of(120L, 121L, 122L, 1L), toList(split.labels()[1], 0, 4));
    }

    @Test
    void accuracyCountsExactLabelWords() throws Exception {
        Path file = write("dev.tsv", "sentence\tlabel", "a\t0", "b\t1", "c\t1", "d\t0");
        List<GlueExample> examples = GlueReader.read(GlueTask.SST2, file, BadRecords.fail()).records();
        TextGenerator generator = prompts -> List.of("negative", " positive ", "positive.", "positive");
        GlueEvaluation.Result result = GlueEvaluation.evaluate(GlueTask.SST2, examples, generator);
        assertEquals(2, result.correct());
        assertEquals(0.5, result.accuracy());
        Path out = dir.resolve("eval");
        result.write(out, java.util.Map.of("skipped", 0));
        String metrics = Files.readString(out.resolve(TaskOutputs.METRICS_FILE));
        assertTrue(metrics.contains("\"accuracy\": 0.5"), metrics);
        assertEquals(4, Files.readAllLines(out.resolve(GlueEvaluation.PREDICTIONS_FILE)).size());
    }

    private static List<Long> toList(long[] values, int from, int to) {
        return java.util.Arrays.stream(values, from, to).boxed().toList();
    }
}
