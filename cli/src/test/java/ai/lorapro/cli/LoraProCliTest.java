package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.optim.XMode;

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

class LoraProCliTest {

    @TempDir
    Path dir;

    private Path model;
    private Path data;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private final List<TrainJob> launched = new ArrayList<>();

    @BeforeEach
    void inputs() throws Exception {
        model = Files.createDirectory(dir.resolve("model"));
        data = Files.writeString(dir.resolve("train.jsonl"), "{\"text\":\"hi\"}\n");
    }

    private int run(TrainCommand.Launcher launcher, String... args) {
        CommandLine cli = LoraProCli.commandLine(launcher);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private int run(String... args) {
        return run((job, published) -> launched.add(job), args);
    }

    private String[] train(String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(),
                "--data", data.toString(), "--out", dir.resolve("out").toString()));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void helpExitsZero() {
        assertEquals(0, run("--help"));
        assertTrue(out.toString().contains("train"), out.toString());
        assertEquals(0, run("train", "--help"));
        assertTrue(out.toString().contains("lora-pro-efficient"), out.toString());
        assertTrue(launched.isEmpty());
    }

    @Test
    void idleOptionsAreWarnedAboutAndResumeWithOverwriteIsRefused() throws Exception {
        assertEquals(0, run(train("--eval-interval", "5", "--allow-resume-change", "lr", "--method", "full",
                "--r", "4")), err.toString());
        String warned = err.toString();
        assertTrue(warned.contains("warning: --eval-interval has no effect without --eval-data"), warned);
        assertTrue(warned.contains("warning: --allow-resume-change has no effect without --resume"), warned);
        assertTrue(warned.contains("warning: --r has no effect with --method full"), warned);
        err.getBuffer().setLength(0);
        assertEquals(0, run(train("--r", "4")));
        assertFalse(err.toString().contains("warning"), err.toString());
        // X is LoRA-Pro's, Adam's settings are not SGD's
        assertEquals(0, run(train("--method", "lora", "--x-mode", "zero")));
        assertTrue(err.toString().contains("warning: --x-mode has no effect with --method lora"), err.toString());
        assertEquals(0, run(train("--method", "lora-pro-sgd", "--beta1", "0.8")));
        assertTrue(err.toString().contains("warning: --beta1 has no effect with --method lora-pro-sgd"), err.toString());
        err.getBuffer().setLength(0);
        assertEquals(0, run(train("--method", "lora-pro", "--x-mode", "zero", "--beta1", "0.8")));
        assertFalse(err.toString().contains("warning"), err.toString());
        Path resume = Files.createDirectory(dir.resolve("ckpt"));
        assertEquals(2, run(train("--resume", resume.toString(), "--overwrite")));
        assertTrue(err.toString().contains("pass one of them"), err.toString());
        assertEquals(5, launched.size(), "the refused run was not launched");
    }

    @Test
    void defaultsReachTheLauncher() {
        assertEquals(0, run(train()));
        TrainJob job = launched.get(0);
        TrainConfig c = job.config();
        assertEquals(Method.LORA_PRO, c.method());
        assertEquals(32, c.batch().globalBatch());
        assertEquals(dir.resolve("out"), c.run().outputDir());
        assertEquals(model, job.inputs().modelDir());
        assertEquals(data, job.inputs().data());
        assertNull(job.inputs().resumeDir());
        assertNull(job.inputs().tokenizerFile());
    }

    @Test
    void everyEngineOptionIsParsed() throws Exception {
        Path resume = Files.createDirectory(dir.resolve("ckpt"));
        Path tok = Files.writeString(dir.resolve("tokenizer.json"), "{}");
        assertEquals(0, run(train("--method", "lora-pro-sgd", "--r", "4", "--alpha", "8",
                "--rslora", "--x-mode", "symmetry", "--target-modules", "q_proj,v_proj",
                "--lr", "1e-3", "--min-lr", "1e-5", "--epochs", "3", "--max-steps", "50",
                "--global-batch", "16", "--micro-batch", "2", "--warmup-ratio", "0.1",
                "--beta1", "0.8", "--beta2", "0.95", "--weight-decay", "0.01",
                "--clip-norm", "0", "--seed", "7", "--eval-interval", "5",
                "--checkpoint-interval", "10", "--max-seq-length", "128", "--device", "cpu",
                "--fp16-frozen", "--resume", resume.toString(), "--tokenizer", tok.toString(),
                "--run-name", "exp1", "--skip-bad-lines")), err.toString());
        TrainJob job = launched.get(0);
        TrainConfig c = job.config();
        assertEquals(Method.LORA_PRO_SGD, c.method());
        assertEquals(4, c.lora().getR());
        assertEquals(8f, c.lora().getAlpha());
        assertTrue(c.lora().isUseRsLora());
        assertEquals(XMode.SYMMETRY, c.optimizer().xMode());
        assertEquals(List.of("q_proj", "v_proj"), List.copyOf(c.lora().getTargetModules()));
        assertEquals(1e-3f, c.schedule().lr());
        assertEquals(1e-5f, c.schedule().minLr());
        assertEquals(3, c.batch().epochs());
        assertEquals(50, c.batch().maxSteps());
        assertEquals(8, c.batch().gradientAccumulation());
        assertEquals(0.1, c.schedule().warmupRatio());
        assertEquals(0.8f, (float) c.optimizer().beta1());
        assertEquals(0.95f, (float) c.optimizer().beta2());
        assertEquals(0.01f, c.optimizer().weightDecay());
        assertEquals(0.0, c.run().clipNorm());
        assertEquals(7, c.run().seed());
        assertEquals(5, c.run().evalInterval());
        assertEquals(10, c.run().checkpointInterval());
        assertEquals(128, c.batch().maxSeqLength());
        assertEquals(DeviceChoice.CPU, c.run().device());
        assertTrue(c.run().fp16Frozen());
        assertEquals(dir.resolve("out").toAbsolutePath().normalize().resolve("exp1"),
                c.run().outputDir());
        assertEquals(resume, job.inputs().resumeDir());
        assertEquals(tok, job.inputs().tokenizerFile());
        assertTrue(job.inputs().skipBadRecords());
    }

    @Test
    void stateDTypeIsParsed() {
        assertEquals(0, run(train("--state-dtype", "bf16")), err.toString());
        assertEquals(ai.lorapro.optim.StateDType.BF16, launched.get(0).config().optimizer().stateDType());
    }

    @Test
    void badOptionValuesExitTwoAndNameTheOption() {
        assertBadInput("--method", train("--method", "qlora"));
        assertBadInput("--micro-batch", train("--micro-batch", "5"));
        assertBadInput("--lr", train("--lr", "abc"));
        assertBadInput("--lr", train("--lr", "-1"));
        assertBadInput("--x-mode", train("--x-mode", "random"));
        assertBadInput("--state-dtype", train("--state-dtype", "fp16"));
        assertBadInput("--state-dtype", train("--method", "lora", "--state-dtype", "bf16"));
        assertBadInput("--device", train("--device", "tpu"));
        assertBadInput("--run-name", train("--run-name", "../escape"));
        assertBadInput("--resume", train("--resume", dir.resolve("nope").toString()));
        assertBadInput("--bogus", train("--bogus"));
        assertTrue(launched.isEmpty());
    }

    @Test
    void missingRequiredOptionsOrInputsExitTwo() {
        assertBadInput("--model", new String[] {"train", "--data", data.toString(), "--out",
            "o"});
        assertBadInput("--model", new String[] {"train", "--model", dir.resolve("x").toString(),
            "--data", data.toString(), "--out", "o"});
        assertBadInput("--data", new String[] {"train", "--model", model.toString(), "--data",
            model.toString(), "--out", "o"});
    }

    @Test
    void unknownOrMissingCommandExitsTwo() {
        assertEquals(2, run("frobnicate"));
        assertEquals(2, run());
        assertTrue(err.toString().contains("missing command"), err.toString());
    }

    @Test
    void launcherFailuresMapToExitCodes() {
        assertEquals(2, run((job, published) -> {
            throw new InvalidInputException("data.jsonl:3: missing field \"text\"");
        }, train()));
        assertTrue(err.toString().contains("error: data.jsonl:3: missing field"), err.toString());
        assertEquals(1, run((job, published) -> {
            throw new IllegalStateException("boom");
        }, train()));
        assertTrue(err.toString().contains("error: boom"), err.toString());
    }

    private void assertBadInput(String option, String[] args) {
        StringWriter before = new StringWriter();
        before.write(err.toString());
        int code = run(args);
        String newErr = err.toString().substring(before.toString().length());
        assertEquals(2, code, String.join(" ", args) + " -> " + newErr);
        assertTrue(newErr.contains(option), newErr);
    }
}
