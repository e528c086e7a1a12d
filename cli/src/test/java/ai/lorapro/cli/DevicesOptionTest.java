package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code train --devices}: what is refused before anything runs, with one line naming the options. */
class DevicesOptionTest {

    @TempDir
    Path dir;

    private Path model;
    private Path data;
    private final List<TrainJob> launched = new ArrayList<>();

    @BeforeEach
    void inputs() throws Exception {
        model = Files.createDirectory(dir.resolve("model"));
        data = Files.writeString(dir.resolve("train.jsonl"), "{\"text\":\"hi\"}\n");
    }

    /** Runs {@code train} with {@code extra}, expects exit 2 and returns the one error line. */
    private String refused(String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--out", dir.resolve("out").toString()));
        args.addAll(List.of(extra));
        CommandLine cli = LoraProCli.commandLine((job, published) -> launched.add(job));
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args.toArray(String[]::new));
        String[] lines = err.toString().strip().split("\n");
        assertEquals(2, code, String.join(" ", args) + " -> " + err);
        assertEquals(1, lines.length, err.toString());
        assertTrue(launched.isEmpty());
        assertTrue(Files.notExists(dir.resolve("out")), "nothing is written for a refused run");
        return lines[0];
    }

    private static void assertNames(String line, String... options) {
        for (String option : options) {
            assertTrue(line.contains(option), option + " not named in: " + line);
        }
    }

    @Test
    void devicesWithTheCpuAreRefused() {
        assertNames(refused("--device", "cpu", "--devices", "0,1"), "--devices", "--device gpu");
    }

    @Test
    void aGlobalBatchThatDoesNotSplitOverTheGpusIsRefused() {
        // 6 examples: micro-batch 2 x 2 GPUs = 4 per pass does not divide them
        assertNames(refused("--device", "gpu", "--devices", "0,1", "--global-batch", "6", "--micro-batch", "2"),
                "--global-batch 6", "--micro-batch 2", "2 --devices");
    }

    @Test
    void aGpuThatIsNotPresentIsRefused() {
        int gpus = Engine.getInstance().getGpuCount();
        String line = refused("--device", "gpu", "--devices", "0," + (gpus + 1), "--global-batch", "8",
                "--micro-batch", "2");
        assertNames(line, "--devices 0," + (gpus + 1), gpus == 0 ? "no GPU" : "GPU " + (gpus + 1) + " is not present");
        if (gpus == 0) {
            assertNames(refused("--devices", "all", "--global-batch", "8", "--micro-batch", "2"), "--devices all",
                    "no GPU");
        }
    }

    @Test
    void malformedOrRepeatedIdsAreRefused() {
        assertNames(refused("--device", "gpu", "--devices", "0,x"), "--devices 0,x", "'x'");
        assertNames(refused("--device", "gpu", "--devices", "1,1"), "--devices 1,1", "twice");
        assertNames(refused("--device", "gpu", "--devices", "-1"), "--devices -1", "negative");
    }
}
