package ai.lorapro.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.cli.LoraProCli;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.optim.StateDType;
import ai.lorapro.train.Method;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** {@code lorapro demo} with a tiny budget writes its report, plot and adapters; its parts. */
class DemoTest {

    @TempDir
    Path tmp;

    @Test
    void tinyDemoOverTwoSeedsWritesReportPlotAndAdapters() throws IOException {
        CommandLine cli = LoraProCli.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        int code = cli.execute("demo", "--out", tmp.toString(), "--steps", "3", "--pretrain-steps", "2",
                "--seeds", "2");
        assertEquals(0, code, out.toString());
        String report = Files.readString(tmp.resolve(Demo.TABLE_FILE));
        for (String method : new String[] {"base (no fine-tuning)", "full", "lora", "lora-pro"}) {
            assertTrue(report.contains("| " + method + " |"), report);
            assertTrue(out.toString().contains("| " + method + " |"), out.toString());
        }
        for (String pair : new String[] {"lora - full", "lora-pro - full", "lora-pro - lora"}) {
            assertTrue(report.contains("| " + pair + " |"), report);
        }
        assertTrue(Files.size(tmp.resolve(Demo.PLOT_FILE)) > 0);
        for (String method : new String[] {"lora", "lora-pro"}) {
            Path adapter = tmp.resolve("adapters").resolve(method);
            assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.CONFIG_NAME)), adapter.toString());
            assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.WEIGHTS_NAME)), adapter.toString());
        }
    }

    @Test
    void quickRunHasOneSeedAndRanksNothing() throws IOException {
        CommandLine cli = LoraProCli.commandLine();
        cli.setOut(new PrintWriter(new StringWriter()));
        int code = cli.execute("demo", "--out", tmp.toString(), "--steps", "2", "--pretrain-steps", "1", "--quick",
                "--methods", "lora");
        assertEquals(0, code);
        String report = Files.readString(tmp.resolve(Demo.TABLE_FILE));
        assertTrue(report.contains("One seed: no spread is measured"), report);
        assertFalse(report.contains("larger than the spread?"), report);

        // a second run into the same directory would leave the first one's seed folders beside its own
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        String[] again = {"demo", "--out", tmp.toString(), "--steps", "2", "--pretrain-steps", "1", "--quick",
            "--methods", "lora", "--seed", "43"};
        assertEquals(2, cli.execute(again));
        assertTrue(err.toString().contains("--overwrite"), err.toString());
        Path notes = Files.writeString(tmp.resolve("notes.txt"), "mine");
        String[] overwrite = java.util.Arrays.copyOf(again, again.length + 1);
        overwrite[again.length] = "--overwrite";
        assertEquals(0, cli.execute(overwrite));
        assertFalse(Files.exists(tmp.resolve("seed-42")), "the earlier run's seed folder is deleted");
        assertTrue(Files.isDirectory(tmp.resolve("seed-43")));
        assertEquals("mine", Files.readString(notes), "other files are left alone");
        // a folder put there later, even one named as a demo names its own, is not in the mark's list
        Path later = Files.writeString(Files.createDirectories(tmp.resolve("seed-99")).resolve("data.txt"), "later");
        String[] third = overwrite.clone();
        third[third.length - 2] = "44";
        assertEquals(0, cli.execute(third));
        assertFalse(Files.exists(tmp.resolve("seed-43")));
        assertEquals("later", Files.readString(later));
        // nor is it taken over by a run that would write into it
        String[] intoLater = overwrite.clone();
        intoLater[intoLater.length - 2] = "99";
        assertEquals(2, cli.execute(intoLater));
        assertTrue(err.toString().contains("holds seed-99, which this demo would write into"), err.toString());
        assertEquals("later", Files.readString(later));

        // a directory no demo wrote is never emptied, with or without --overwrite
        Path theirs = Files.createDirectories(tmp.resolve("theirs"));
        Path precious = Files.writeString(Files.createDirectories(theirs.resolve("seed-1")).resolve("data.txt"), "keep");
        String[] intoTheirs = overwrite.clone();
        intoTheirs[2] = theirs.toString();
        assertEquals(2, cli.execute(intoTheirs));
        assertTrue(err.toString().contains("has no .lorapro-demo mark"), err.toString());
        assertEquals("keep", Files.readString(precious));
        // a mark that is not a demo's list (made by hand, or by an older demo) is refused too
        Files.writeString(theirs.resolve(Demo.MARKER), "");
        assertEquals(2, cli.execute(intoTheirs));
        assertEquals("keep", Files.readString(precious));
    }

    @Test
    void bf16MomentsHalveLoraProsStateAndTheReportSaysSo() throws IOException {
        long[] stateBytes = new long[2];
        for (int i = 0; i < 2; i++) {
            StateDType dtype = i == 0 ? StateDType.FP32 : StateDType.BF16;
            Path dir = tmp.resolve(dtype.id());
            List<MethodRun> runs = Demo.builder().optOut(dir).optSeeds(1).optSteps(2).optPretrainSteps(1)
                    .optMethods(List.of(Method.LORA_PRO)).optStateDType(dtype).build()
                    .run(new PrintWriter(new StringWriter()));
            stateBytes[i] = runs.get(0).optimizerStateBytes();
            assertEquals(dtype == StateDType.BF16,
                    Files.readString(dir.resolve(Demo.TABLE_FILE)).contains("LoRA-Pro moments stored as bf16"));
        }
        assertTrue(stateBytes[0] > 0);
        assertEquals(stateBytes[0], 2 * stateBytes[1], "fp32 against bf16 state");
        CommandLine cli = LoraProCli.commandLine();
        StringWriter err = new StringWriter();
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("demo", "--out", tmp.resolve("bad").toString(), "--state-dtype", "fp8"));
        assertTrue(err.toString().contains("--state-dtype"), err.toString());
    }

    @Test
    void sweepPicksEachMethodsLowestMeanValidationLoss() {
        double[][] full = {{0.9, 1.1}, {0.7, 0.8}, {0.75, 0.7}};
        double[][] lora = {{0.5, 0.6}, {0.6, 0.6}, {0.9, 0.9}};
        java.util.Map<Method, Float> best = new java.util.EnumMap<>(Method.class);
        java.util.Map<Method, double[][]> losses = new java.util.EnumMap<>(Method.class);
        losses.put(Method.FULL, full);
        losses.put(Method.LORA, lora);
        String table = SweepTable.markdown("", List.of(1e-3f, 2e-3f, 5e-3f), losses, best);
        assertEquals(5e-3f, best.get(Method.FULL));
        assertEquals(1e-3f, best.get(Method.LORA));
        assertTrue(table.contains("0.7250 ± 0.0354 *"), table);
    }

    @Test
    void spreadCallsADifferenceLargerOnlyWhenMeanPlusMinusSdIntervalsDoNotOverlap() {
        Spread a = Spread.of(new double[] {1.0, 1.2});
        assertEquals(1.1, a.mean(), 1e-12);
        assertEquals(Math.sqrt(0.02), a.sd(), 1e-12);
        assertTrue(a.differsBeyondSpread(Spread.of(new double[] {1.5, 1.5})));
        assertFalse(a.differsBeyondSpread(Spread.of(new double[] {1.2, 1.3})));
        assertFalse(Spread.of(new double[] {1.0}).differsBeyondSpread(Spread.of(new double[] {5.0})));
    }

    @Test
    void splitsAreDisjointAndAnswersAreRight() {
        CharTokenizer tokenizer = new CharTokenizer();
        assertEquals("17-9=8", tokenizer.decode(tokenizer.encode("17-9=8")));
        ArithmeticCorpus corpus = new ArithmeticCorpus(tokenizer, 19);
        for (Skill skill : Skill.values()) {
            var split = corpus.splits(skill, 1, 100, 20, 30);
            Set<String> seen = new HashSet<>();
            split.forEach(part -> part.forEach(p -> assertTrue(seen.add(p.prompt()), "repeated " + p.prompt())));
            assertEquals(150, seen.size());
        }
        for (var p : corpus.splits(Skill.SUBTRACTION, 1, 30).get(0)) {
            String[] parts = p.prompt().replace("=", "").split("-");
            assertEquals(Integer.parseInt(parts[0]) - Integer.parseInt(parts[1]), Integer.parseInt(p.answer()));
        }
        assertEquals(new ArithmeticCorpus.Problem("23+45=", "gi"), Skill.LETTER_SUM.problem(23, 45));
        assertEquals(new ArithmeticCorpus.Problem("23+45=", "86"), Skill.PERMUTED_SUM.problem(23, 45));
        assertThrows(InvalidInputException.class, () -> corpus.splits(Skill.SUBTRACTION, 1, 300));
        assertThrows(InvalidInputException.class, () -> Skill.fromCliName("division"));
    }
}
