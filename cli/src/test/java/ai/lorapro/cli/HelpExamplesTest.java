package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Runs the examples that {@code --help} shows, command after command and in their order, as a user
 * who copies them from the repository root would ({@link HelpTexts#EXAMPLES}): the models they
 * write once, then training, resuming, evaluation, generation, merging and sizes.
 */
class HelpExamplesTest {

    private static final Set<String> PATH_OPTIONS = Set.of("--model", "--data", "--out", "--config", "--adapter",
            "--resume");

    @TempDir
    Path work;

    @Test
    void everyHelpExampleRunsAsWritten() throws IOException {
        Path root = Path.of(System.getProperty("lorapro.root", "..")).toAbsolutePath().normalize();
        Files.createSymbolicLink(work.resolve("examples"), root.resolve("examples"));
        Set<String> ran = new HashSet<>();
        List<String> firstTrain = null;
        int count = 0;
        for (String command : List.of("train", "eval", "generate", "merge", "info")) {
            for (String example : HelpTexts.EXAMPLES.get(command)) {
                String line = example.replaceAll("\\s+#.*$", "");
                if (!ran.add(line)) {
                    continue; // "# once": the model is there already
                }
                List<String> words = words(line.replace("ADAPTER_DIR", "runs/x/checkpoints/step-000010/adapter"));
                assertEquals("lorapro", words.get(0), example);
                List<String> args = new ArrayList<>(words.subList(1, words.size()));
                if (args.size() > 1 && args.get(1).equals("...")) {
                    // "train ... --resume X": the options of the run it continues
                    List<String> resumed = new ArrayList<>(firstTrain);
                    resumed.addAll(args.subList(2, args.size()));
                    args = resumed;
                } else if (args.get(0).equals("train") && firstTrain == null) {
                    firstTrain = List.copyOf(args);
                }
                CliRun.Result result = CliRun.cli(inWork(args).toArray(String[]::new));
                assertEquals(0, result.code(), example + "\n" + result.err());
                count++;
            }
        }
        assertTrue(count >= 11, "ran " + count); // the distinct examples of these five commands
    }

    /** The path values made absolute under the work directory (the test JVM's directory is fixed). */
    private List<String> inWork(List<String> args) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            boolean path = i > 0 && PATH_OPTIONS.contains(args.get(i - 1));
            out.add(path ? work.resolve(args.get(i)).toString() : args.get(i));
        }
        return out;
    }

    /** Splits on spaces, a "quoted" word kept whole without its quotes. */
    private static List<String> words(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean quoted = false;
        for (char c : line.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            } else if (c == ' ' && !quoted) {
                if (word.length() > 0) {
                    out.add(word.toString());
                    word.setLength(0);
                }
            } else {
                word.append(c);
            }
        }
        if (word.length() > 0) {
            out.add(word.toString());
        }
        return out;
    }
}
