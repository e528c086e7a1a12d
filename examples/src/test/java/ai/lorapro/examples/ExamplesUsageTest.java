package ai.lorapro.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.examples.support.ExampleRun;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;

/**
 * The task examples behave as the command line does on a usage error, an output directory in use,
 * and bad input: a message on standard error and exit code 2, and no file written.
 */
class ExamplesUsageTest {

    /** Each example's work, with how many arguments it needs and where its OUT_DIR is among them. */
    private record Example(String name, Function<String[], Integer> run, int required, int outIndex) {}

    private static final List<Example> EXAMPLES = List.of(
            new Example("GlueT5Example", GlueT5Example::run, 5, 4),
            new Example("InstructionLlamaExample", InstructionLlamaExample::run, 4, 3),
            new Example("ClipImageFolderExample", ClipImageFolderExample::run, 3, 2),
            new Example("Gsm8kEvalExample", Gsm8kEvalExample::run, 3, 2),
            new Example("HumanEvalExample", HumanEvalExample::run, 3, 2),
            new Example("MtBenchExample", MtBenchExample::run, 3, 2));

    @Test
    void missingArgumentsPrintTheUsageAndExitWith2() {
        for (Example example : EXAMPLES) {
            Run run = Run.of(example, new String[0]);
            assertEquals(ExampleRun.BAD_INPUT, run.exit, example.name);
            assertTrue(run.err.startsWith("usage: " + example.name) && run.err.contains("DIR"), run.err);
            assertEquals("", run.out, example.name);
        }
    }

    @Test
    void anOutputDirectoryThatHoldsFilesIsRefusedAndLeftAsItWas(@TempDir Path dir) throws IOException {
        Path out = Files.createDirectories(dir.resolve("out"));
        Path mine = Files.writeString(out.resolve("metrics.jsonl"), "my precious metrics\n");
        for (Example example : EXAMPLES) {
            Run run = Run.of(example, arguments(example, dir, out));
            assertEquals(ExampleRun.BAD_INPUT, run.exit, example.name + ": " + run.err);
            assertTrue(run.err.startsWith("error: OUT_DIR " + out + " is not empty"), run.err);
            assertEquals("my precious metrics\n", Files.readString(mine));
            try (var entries = Files.list(out)) {
                assertEquals(1, entries.count(), example.name);
            }
        }
    }

    @Test
    void anOutputPathThatIsAFileIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("notes.txt"), "mine\n");
        for (Example example : EXAMPLES) {
            Run run = Run.of(example, arguments(example, dir, file));
            assertEquals(ExampleRun.BAD_INPUT, run.exit, example.name);
            assertEquals("error: OUT_DIR " + file + " is not a directory", run.err.strip());
            assertEquals("mine\n", Files.readString(file));
        }
    }

    @Test
    void aMissingModelOrDataFileIsOneLineOfErrorNotAStackTrace(@TempDir Path dir) {
        for (Example example : EXAMPLES) {
            Path out = dir.resolve(example.name);
            Run run = Run.of(example, arguments(example, dir, out));
            assertEquals(ExampleRun.BAD_INPUT, run.exit, example.name + ": " + run.err);
            // the engine's log lines (slf4j-simple writes them to standard error too) aside
            List<String> printed = run.err.lines().filter(line -> !line.startsWith("[")).toList();
            assertEquals(1, printed.size(), run.err);
            // named as the usage names it, not by the tokenizer file some later step misses
            assertTrue(printed.get(0).startsWith("error: MODEL_DIR " + dir.resolve("no-model") + " is not a directory"),
                    run.err);
        }
    }

    @Test
    void aModelDirectoryWithoutConfigIsNamed(@TempDir Path dir) throws IOException {
        Path notAModel = Files.createDirectories(dir.resolve("no-model"));
        for (Example example : EXAMPLES) {
            Run run = Run.of(example, arguments(example, dir, dir.resolve(example.name)));
            assertEquals(ExampleRun.BAD_INPUT, run.exit, example.name + ": " + run.err);
            assertEquals("error: MODEL_DIR " + notAModel + " has no config.json: it is not a Hugging Face model"
                    + " directory", run.err.strip());
        }
    }

    /** Arguments naming a model directory that does not exist, with {@code out} as OUT_DIR. */
    private static String[] arguments(Example example, Path dir, Path out) {
        String[] args = new String[example.required];
        for (int i = 0; i < args.length; i++) {
            args[i] = dir.resolve("missing-" + i).toString();
        }
        args[0] = dir.resolve("no-model").toString();
        if (example.name.equals("GlueT5Example")) {
            args[1] = "glue-sst2";
        } else if (example.name.equals("InstructionLlamaExample")) {
            args[1] = "metamath";
        }
        args[example.outIndex] = out.toString();
        return args;
    }

    /** One run of an example's work, its exit code and what it printed. */
    private record Run(int exit, String out, String err) {
        static Run of(Example example, String[] args) {
            PrintStream originalOut = System.out;
            PrintStream originalErr = System.err;
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int exit;
            try {
                System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
                System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
                exit = example.run.apply(args);
            } finally {
                System.setOut(originalOut);
                System.setErr(originalErr);
            }
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }
    }
}
