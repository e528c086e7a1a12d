package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.CliRun;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;


import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@code lorapro train --task} and {@code lorapro eval --task} on a random tiny T5. */
class TaskCliTest {

    @TempDir
    Path dir;


    @Test
    void trainThenEvaluateGlueMrpcFromTheCommandLine() throws Exception {
        Path t5 = TinyModels.t5(dir.resolve("t5"));
        Path train = dir.resolve("train.tsv");
        Files.write(train, List.of("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
                "1\t1\t2\tHe said \" yes \" .\tHe agreed .", "0\t3\t4\tThe cat sat .\tStocks fell .",
                "1\t5\t6\tIt rained .\tThere was rain .", "0\t7\t8\tA red car .\tA blue sky ."));
        Path out = dir.resolve("run");
        CliRun.Result trained = CliRun.cli("train", "--task", "glue-mrpc", "--model", t5.toString(), "--data", train.toString(),
                "--eval-data", train.toString(), "--out", out.toString(), "--method", "lora-pro", "--r", "2",
                "--alpha", "4", "--max-steps", "2", "--global-batch", "2", "--micro-batch", "2", "--device", "cpu");
        assertEquals(0, trained.code(), trained.err());
        assertTrue(trained.out().contains("trained lora-pro on glue-mrpc for 2 steps"), trained.out());
        JsonObject metrics = JsonParser.parseString(Files.readString(out.resolve("eval/metrics.json"))).getAsJsonObject();
        assertEquals(4, metrics.get("total").getAsInt());
        Path adapter;
        try (Stream<Path> found = Files.walk(out)) {
            adapter = found.filter(p -> p.endsWith("adapter_config.json")).findFirst().orElseThrow().getParent();
        }
        Path evalOut = dir.resolve("dev");
        CliRun.Result evaluated = CliRun.cli("eval", "--task", "glue-mrpc", "--model", t5.toString(), "--adapter", adapter.toString(),
                "--data", train.toString(), "--out", evalOut.toString(), "--device", "cpu");
        assertEquals(0, evaluated.code(), evaluated.err());
        assertTrue(evaluated.out().contains("accuracy "), evaluated.out());
        // the adapter evaluated alone gives the accuracy the run measured with the same weights
        JsonObject again = JsonParser.parseString(Files.readString(evalOut.resolve("metrics.json"))).getAsJsonObject();
        assertEquals(metrics.get("accuracy").getAsDouble(), again.get("accuracy").getAsDouble());
    }

    @Test
    void badTaskDataExitsWithInvalidInput() throws Exception {
        Path t5 = Files.createDirectories(dir.resolve("model"));
        Path train = dir.resolve("train.tsv");
        Files.write(train, List.of("sentence\tlabel", "ok\t7"));
        CliRun.Result run = CliRun.cli("train", "--task", "glue-sst2", "--model", t5.toString(), "--data", train.toString(),
                "--out", dir.resolve("out").toString());
        assertEquals(2, run.code());
        assertTrue(run.err().contains(train + ":2: label \"7\""), run.err());
        CliRun.Result missing = CliRun.cli("eval", "--task", "gsm8k", "--model", t5.toString(), "--data", train.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--out is required with --task"), missing.err());
    }

    /**
     * Task names in any case, as the library takes them; an image folder's --eval-data is a folder
     * of test images (a file was accepted and then silently not evaluated).
     */
    @Test
    void taskNamesInAnyCaseAndAnImageFoldersEvalDataIsAFolder() throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path glue = Files.createDirectories(dir.resolve("SST-2"));
        Files.write(glue.resolve("train.tsv"), List.of("sentence\tlabel", "ok\t7"));
        CliRun.Result upper = CliRun.cli("train", "--task", "GLUE-SST2", "--model", model.toString(), "--data",
                glue.toString(), "--out", dir.resolve("out").toString());
        assertEquals(2, upper.code(), upper.err());
        assertTrue(upper.err().contains(glue.resolve("train.tsv") + ":2: label \"7\""), upper.err());
        Path images = Files.createDirectories(dir.resolve("images/train/cat"));
        Path notAFolder = Files.writeString(dir.resolve("test.jsonl"), "{}\n");
        CliRun.Result file = CliRun.cli("train", "--task", "image-folder", "--model", model.toString(), "--data",
                images.getParent().getParent().toString(), "--eval-data", notAFolder.toString(), "--out",
                dir.resolve("out2").toString());
        assertEquals(2, file.code(), file.err());
        assertTrue(file.err().contains("--eval-data"), file.err());
    }

    /** The MT-Bench model id names the answers' file in --out: a path in it is refused before anything runs. */
    @Test
    void aModelIdThatIsAPathIsRefused() throws Exception {
        Path model = Files.createDirectories(dir.resolve("model"));
        Path questions = Files.writeString(dir.resolve("question.jsonl"), "");
        for (String id : List.of("../../train", "org/name", ".hidden", "")) {
            CliRun.Result run = CliRun.cli("eval", "--task", "mt-bench", "--model", model.toString(), "--data",
                    questions.toString(), "--out", dir.resolve("out").toString(), "--model-id", id);
            assertEquals(2, run.code(), run.err());
            assertTrue(run.err().contains("--model-id") && run.err().contains("must be a file name"), run.err());
        }
        assertFalse(Files.exists(dir.resolve("out")));
    }
}
