package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line's conventions: version, help subcommand, help sections, --threads, GLUE directories. */
class CliConventionsTest {

    @TempDir
    Path dir;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private final List<TrainJob> launched = new ArrayList<>();

    private int run(String... args) {
        return run(LoraProCli.commandLine((job, published) -> launched.add(job)), args);
    }

    /** Runs with the real training launcher. */
    private int runForReal(String... args) {
        return run(LoraProCli.commandLine(), args);
    }

    private int run(CommandLine cli, String... args) {
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void versionIsTheBuildsVersion() {
        String version = System.getProperty("lorapro.version");
        assertNotNull(version, "the build passes lorapro.version to the tests");
        assertEquals(0, run("--version"));
        assertTrue(out.toString().startsWith("lorapro " + version + System.lineSeparator()), out.toString());
        // every command's usage offers -V
        for (String command : List.of("train", "eval", "generate", "merge", "info", "demo", "random-model")) {
            out.getBuffer().setLength(0);
            assertEquals(0, run(command, "-V"), command);
            assertTrue(out.toString().startsWith("lorapro " + version + System.lineSeparator()), command + ": " + out);
        }
    }

    @Test
    void helpSubcommandAndEveryHelpEndWithExitCodes() {
        assertEquals(0, run("help", "train"));
        String help = out.toString();
        assertTrue(help.contains("Usage: lorapro train"), help);
        assertTrue(help.contains("--task"), help);
        for (String command : List.of("train", "eval", "generate", "merge", "info", "demo", "random-model")) {
            out.getBuffer().setLength(0);
            assertEquals(0, run(command, "--help"), command);
            assertTrue(out.toString().contains("Exit codes:"), command + ":\n" + out);
            assertTrue(out.toString().contains("  2   bad input"), command + ":\n" + out);
        }
        for (String command : List.of("train", "eval", "generate", "merge", "info")) {
            out.getBuffer().setLength(0);
            run(command, "--help");
            assertTrue(out.toString().contains("Examples:"), command + ":\n" + out);
        }
    }

    @Test
    void trainHeaderNamesEveryFamily() {
        assertEquals(0, run("train", "--help"));
        String help = out.toString();
        assertTrue(help.contains("T5") && help.contains("CLIP") && help.contains("Llama"), help);
    }

    @Test
    void threadsOutOfRangeIsABadOptionNamedInOneLine() throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        Path data = Files.writeString(dir.resolve("d.jsonl"), "{\"text\":\"a\"}\n");
        int code = run("train", "--model", model.toString(), "--data", data.toString(), "--out",
                dir.resolve("out").toString(), "--threads", "0");
        assertEquals(2, code);
        assertTrue(err.toString().contains("--threads"), "err: " + err + "\nout: " + out);
        assertEquals(1, err.toString().strip().lines().count(), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(2, run("train", "--model", model.toString(), "--data", data.toString(), "--out",
                dir.resolve("out").toString(), "--threads", "many"));
        assertTrue(err.toString().contains("--threads"), "err: " + err + "\nout: " + out);
        assertTrue(launched.isEmpty());
    }

    /** The job {@code train} would hand to its launcher for these options. */
    private TrainJob job(String... args) {
        CommandLine train = new CommandLine(new TrainCommand((job, published) -> launched.add(job)));
        train.parseArgs(args);
        return ((TrainCommand) train.getCommand()).toJob();
    }

    @Test
    void aGlueTaskDirectoryGivesTrainAndDevFiles() throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        Path sst2 = Files.createDirectories(dir.resolve("glue/SST-2"));
        Files.writeString(sst2.resolve("train.tsv"), "sentence\tlabel\ngood\t1\n");
        Files.writeString(sst2.resolve("dev.tsv"), "sentence\tlabel\nbad\t0\n");
        TrainJob job = job("--task", "glue-sst2", "--model", model.toString(), "--data", sst2.toString(),
                "--out", dir.resolve("out").toString());
        assertEquals(sst2.resolve("train.tsv"), job.inputs().data());
        assertEquals(sst2.resolve("dev.tsv"), job.inputs().evalData());

        Path mnli = Files.createDirectories(dir.resolve("glue/MNLI"));
        Files.writeString(mnli.resolve("train.tsv"), "x\n");
        Files.writeString(mnli.resolve("dev_matched.tsv"), "x\n");
        assertEquals(mnli.resolve("dev_matched.tsv"), job("--task", "glue-mnli", "--model", model.toString(), "--data",
                mnli.toString(), "--out", dir.resolve("out2").toString()).inputs().evalData());

        Path empty = Files.createDirectories(dir.resolve("glue/CoLA"));
        assertEquals(2, run("train", "--task", "glue-cola", "--model", model.toString(), "--data", empty.toString(),
                "--out", dir.resolve("out3").toString()));
        assertTrue(err.toString().contains("train.tsv"), err.toString());
    }

    @Test
    void float16BaseWeightsTrainT5AndClip() throws Exception {
        Path t5 = dir.resolve("t5");
        Path clip = dir.resolve("clip");
        assertEquals(0, run("random-model", "--preset", "t5-tiny", "--out", t5.toString()), err.toString());
        assertEquals(0, run("random-model", "--preset", "clip-tiny", "--out", clip.toString()), err.toString());
        Path root = Path.of(System.getProperty("lorapro.root", ".."));
        err.getBuffer().setLength(0);
        assertEquals(0, runForReal("train", "--task", "glue-sst2", "--model", t5.toString(), "--data",
                root.resolve("examples/data/glue/SST-2").toString(), "--out", dir.resolve("o1").toString(),
                "--max-steps", "1", "--fp16-frozen"), err.toString());
        assertEquals(0, runForReal("train", "--task", "image-folder", "--model", clip.toString(), "--data",
                root.resolve("examples/data/images").toString(), "--out", dir.resolve("o2").toString(),
                "--max-steps", "1", "--fp16-frozen"), err.toString());
        for (String run : new String[] {"o1", "o2"}) {
            try (var files = Files.walk(dir.resolve(run))) {
                assertTrue(files.anyMatch(f -> f.getFileName().toString().equals("adapter_model.safetensors")),
                        run + " wrote no adapter");
            }
        }
    }
}
