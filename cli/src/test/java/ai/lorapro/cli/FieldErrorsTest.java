package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidFieldException;
import ai.lorapro.optim.OptimizerConfig;
import ai.lorapro.train.BatchConfig;
import ai.lorapro.train.RunConfig;
import ai.lorapro.train.RunIdentity;
import ai.lorapro.train.ScheduleConfig;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

class FieldErrorsTest {

    @TempDir
    Path dir;

    /** A record component's field name in errors: {@code maxSeqLength} is {@code max_seq_length}. */
    private static String snake(String camel) {
        return camel.replaceAll("(?<=[a-z0-9])(?=[A-Z])", "_").toLowerCase(java.util.Locale.ROOT);
    }

    @Test
    void everySettingsFieldHasAFlagOfTrain() {
        CommandLine train = LoraProCli.commandLine((job, published) -> { }).getSubcommands().get("train");
        Map<String, String> flags = FieldErrors.flags(train.getCommandSpec());
        List<String> fields = new ArrayList<>(List.of("method", "r", "alpha", "lora_dropout", "target_modules"));
        for (Class<?> record : List.of(OptimizerConfig.class, ScheduleConfig.class, BatchConfig.class,
                RunConfig.class)) {
            for (RecordComponent c : record.getRecordComponents()) {
                fields.add(snake(c.getName()));
            }
        }
        fields.addAll(RunIdentity.FIXED);
        fields.addAll(RunIdentity.CHANGEABLE);
        for (String field : fields) {
            String flag = flags.get(field);
            assertNotNull(flag, "no flag for field " + field);
            for (String name : flag.split("/")) {
                assertNotNull(train.getCommandSpec().findOption(name), field + ": train has no option " + name);
            }
        }
        assertEquals("state_dtype", snake("stateDType"));
    }

    @Test
    void aFieldErrorIsRestatedUnderTheFlagOfTheCommandThatSetsIt() {
        CommandLine train = LoraProCli.commandLine((job, published) -> { }).getSubcommands().get("train");
        CommandLine info = LoraProCli.commandLine((job, published) -> { }).getSubcommands().get("info");
        InvalidFieldException e = new InvalidFieldException("micro_batch", "5 must divide global_batch 32");
        assertEquals("--micro-batch 5 must divide global_batch 32", FieldErrors.message(e, train));
        // a command without the option keeps the field's name
        assertEquals("micro_batch 5 must divide global_batch 32", FieldErrors.message(e, info));
        // the same field may have another flag in another command
        InvalidFieldException targets = new InvalidFieldException("target_modules", "needs a module name");
        assertEquals("--targets needs a module name", FieldErrors.message(targets, info));
        assertEquals("--target-modules needs a module name", FieldErrors.message(targets, train));
    }

    @Test
    void badValuesPrintOneLineNamingTheFlag() throws Exception {
        Path model = Files.createDirectory(dir.resolve("model"));
        Path data = Files.writeString(dir.resolve("d.jsonl"), "{\"text\":\"a\"}\n");
        String[][] cases = {
            {"--micro-batch", "5", "--micro-batch 5 must divide global_batch 32"},
            {"--beta1", "1", "--beta1 must be in [0, 1), got 1.0"},
            {"--warmup-ratio", "2", "--warmup-ratio must be in [0, 1], got 2.0"},
            {"--log-interval", "0", "--log-interval must be >= 1, got 0"},
            {"--lora-dropout", "1", "--lora-dropout must be in [0, 1), got 1.0"},
            {"--allow-resume-change", "r", "--allow-resume-change holds unknown field 'r'"},
        };
        for (String[] c : cases) {
            StringWriter err = new StringWriter();
            CommandLine cli = LoraProCli.commandLine((job, published) -> { });
            cli.setErr(new PrintWriter(err, true));
            cli.setOut(new PrintWriter(new StringWriter(), true));
            int code = cli.execute("train", "--model", model.toString(), "--data", data.toString(), "--out",
                    dir.resolve("out").toString(), c[0], c[1]);
            assertEquals(ExitCodes.BAD_INPUT, code, c[0] + ": " + err);
            List<String> lines = err.toString().strip().lines().toList();
            assertEquals(1, lines.size(), err.toString());
            assertTrue(lines.get(0).startsWith("error: " + c[2]), lines.get(0));
        }
        StringWriter err = new StringWriter();
        CommandLine cli = LoraProCli.commandLine((job, published) -> { });
        cli.setErr(new PrintWriter(err, true));
        assertEquals(ExitCodes.BAD_INPUT, cli.execute("eval", "--model", model.toString(), "--data", data.toString(),
                "--batch", "0"));
        assertEquals("error: --batch must be >= 1, got 0", err.toString().strip());
    }
}
