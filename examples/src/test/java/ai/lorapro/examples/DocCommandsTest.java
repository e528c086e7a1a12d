package ai.lorapro.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.lorapro.cli.LoraProCli;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs every command of README.md, docs/training.md and docs/tasks.md (their {@code ```bash} blocks), in
 * order, each document in a fresh working directory, and requires exit code 0. Commands that name a
 * paper-scale model or data set run on a tiny random model of the same family and on the sample data in
 * examples/data (the table {@link #STAND_INS}); {@code --device gpu} runs on the CPU and generation is cut
 * to 8 new tokens. {@code ./mvnw} and {@code consumer/check.sh} are CI's own commands, and the plain
 * {@code ./lorapro demo} is DemoTest's: they are not run here.
 */
class DocCommandsTest {

    private static final Path ROOT = Path.of(System.getProperty("lorapro.root", "..")).toAbsolutePath().normalize();
    private static final List<String> DOCS = List.of("README.md", "docs/training.md", "docs/tasks.md");

    /** Paper-scale names in the docs and what the test runs instead (paths relative to the working directory). */
    static final Map<String, String> STAND_INS = Map.ofEntries(
            Map.entry("Llama-2-7b-hf", ".stand-in/llama"),
            Map.entry("t5-base", ".stand-in/t5"),
            Map.entry("clip-vit-base-patch16", ".stand-in/clip"),
            Map.entry("MetaMathQA-100k.json", "examples/data/metamath.json"),
            Map.entry("Code-Feedback.jsonl", "examples/data/codefeedback.jsonl"),
            Map.entry("WizardLM.json", "examples/data/wizardlm.json"),
            Map.entry("gsm8k/test.jsonl", "examples/data/gsm8k.jsonl"),
            Map.entry("HumanEval.jsonl", "examples/data/HumanEval.jsonl"),
            Map.entry("question.jsonl", "examples/data/question.jsonl"),
            Map.entry("glue_data/SST-2", "examples/data/glue/SST-2"),
            Map.entry("datasets/dtd", "examples/data/images"));

    /** Options whose value is always a path (outputs may have no slash and not exist yet). */
    private static final java.util.Set<String> PATH_OPTIONS = java.util.Set.of("--out", "--model", "--adapter",
            "--data", "--eval-data", "--tokenizer", "--resume", "--config");

    /** The random-model presets the stand-in models are written from. */
    private static final Map<String, String> STAND_IN_PRESETS = Map.of(
            ".stand-in/llama", "llama-tiny", ".stand-in/t5", "t5-tiny", ".stand-in/clip", "clip-tiny");

    @TempDir
    static Path work;

    @TestFactory
    Stream<DynamicTest> everyDocumentedCommandRuns() throws IOException {
        List<DynamicTest> tests = new ArrayList<>();
        for (String doc : DOCS) {
            List<DocCommands.Command> commands = DocCommands.read(ROOT.resolve(doc));
            assertFalse(commands.isEmpty(), doc + " has no bash commands");
            tests.add(DynamicTest.dynamicTest(doc, () -> runDocument(doc, commands)));
        }
        return tests.stream();
    }

    private static void runDocument(String doc, List<DocCommands.Command> commands) throws Exception {
        Path dir = Files.createDirectories(work.resolve(doc.replace('/', '_')));
        for (Map.Entry<String, String> e : STAND_IN_PRESETS.entrySet()) {
            run(dir, List.of("random-model", "--preset", e.getValue(), "--out", dir.resolve(e.getKey()).toString()),
                    "stand-in " + e.getValue());
        }
        int ran = 0;
        for (DocCommands.Command command : commands) {
            List<String> words = new ArrayList<>(command.words());
            while (!words.isEmpty() && words.get(0).matches("[A-Z_][A-Z0-9_]*=.*")) {
                words.remove(0); // environment assignments (thread settings): the test JVM's environment is fixed
            }
            String program = words.get(0);
            if (program.equals("./mvnw") || program.equals("consumer/check.sh")) {
                continue; // CI runs these itself (.ci/run)
            }
            if (words.size() == 2 && words.get(1).equals("demo")) {
                continue; // the demo takes minutes; DemoTest runs it
            }
            assertEquals("./lorapro", program, command + ": the doc test runs ./lorapro commands only");
            List<String> args = rewrite(dir, words.subList(1, words.size()));
            if (!args.isEmpty() && args.get(0).equals("example")) {
                runExample(args.subList(1, args.size()), command.toString());
            } else {
                run(dir, args, command.toString());
            }
            ran++;
        }
        assertTrue(ran > 0, doc + ": no command ran");
    }

    /** The command's arguments as the test runs them: stand-ins, paths, CPU, short generations. */
    static List<String> rewrite(Path dir, List<String> words) throws IOException {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            String previous = out.isEmpty() ? "" : out.get(out.size() - 1);
            if (previous.equals("--device") && w.equals("gpu")) {
                out.add("cpu");
            } else if (previous.equals("--max-new-tokens")) {
                out.add(Integer.toString(Math.min(8, Integer.parseInt(w))));
            } else if (w.startsWith("-") || previous.equals("--prompt")) {
                out.add(w);
            } else {
                out.add(path(dir, w, PATH_OPTIONS.contains(previous)));
            }
        }
        return out;
    }

    /**
     * A word that names a path: the stand-in for a paper-scale name, the repository's file when it has one
     * (examples/data, ...), else a path in the working directory; {@code step-NNNNNN} is the run's last
     * checkpoint.
     */
    private static String path(Path dir, String word, boolean isPath) throws IOException {
        String w = word;
        for (Map.Entry<String, String> e : STAND_INS.entrySet()) {
            if (w.equals(e.getKey()) || w.startsWith(e.getKey() + "/")) {
                w = e.getValue() + w.substring(e.getKey().length());
            }
        }
        if (w.contains("step-NNNNNN")) {
            Path checkpoints = dir.resolve(w.substring(0, w.indexOf("step-NNNNNN")));
            try (Stream<Path> steps = Files.list(checkpoints)) {
                String last = steps.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("step-"))
                        .max(Comparator.naturalOrder()).orElseThrow(() -> new AssertionError("no checkpoint in " + checkpoints));
                w = w.replace("step-NNNNNN", last);
            }
        }
        if (!isPath && !w.contains("/") && !Files.exists(dir.resolve(w)) && !Files.exists(ROOT.resolve(w))) {
            return word; // not a path: a task name, a method, a number
        }
        Path inRepo = ROOT.resolve(w);
        return (Files.exists(inRepo) && !w.startsWith(".stand-in") ? inRepo : dir.resolve(w)).toString();
    }

    private static void run(Path dir, List<String> args, String what) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = LoraProCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args.toArray(String[]::new));
        if (code != 0) {
            fail(what + "\n  ran as: lorapro " + String.join(" ", args) + "\n  exit " + code + "\n" + err + out);
        }
    }

    private static void runExample(List<String> args, String what) throws Exception {
        assertFalse(args.isEmpty(), what + ": no example named");
        String camel = camel(args.get(0));
        Class<?> main;
        try {
            main = Class.forName("ai.lorapro.examples." + camel + "Example");
        } catch (ClassNotFoundException e) {
            main = Class.forName("ai.lorapro.examples." + camel);
        }
        Method m = main.getMethod("main", String[].class);
        m.invoke(null, (Object) args.subList(1, args.size()).toArray(String[]::new));
    }

    /** {@code instruction-llama} to {@code InstructionLlama}, as the launcher maps it. */
    static String camel(String name) {
        StringBuilder b = new StringBuilder();
        for (String part : name.split("-")) {
            if (!part.isEmpty()) {
                b.append(part.substring(0, 1).toUpperCase(Locale.ROOT)).append(part.substring(1));
            }
        }
        return b.toString();
    }
}
