package ai.lorapro.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.train.MetricsLog;
import ai.lorapro.train.TrainerState;
import ai.lorapro.train.TrainingCheckpoint;
import ai.lorapro.train.TrainingEngine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Crash-safe resume: {@code lorapro train} runs in a child JVM with checkpoints every {@value
 * #INTERVAL} steps and is killed with SIGKILL in the middle of an interval, after a checkpoint has
 * been published. Every published checkpoint is complete and loads; a second child resumes from the
 * last one; the final adapter, optimizer moments and step counts equal those of an uninterrupted
 * run with the same seed bit for bit.
 */
class CrashResumeTest {

    private static final int INTERVAL = 50;
    private static final int STEPS = 300;
    private static final Pattern CHECKPOINT = Pattern.compile("step-(\\d{6})");
    private static final Pattern METRICS_STEP = Pattern.compile("^\\{\"step\":(\\d+),\"epoch\"");

    @TempDir
    Path tmp;

    private Path model;
    private Path data;

    private List<String> trainArgs(Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--out", out.toString(), "--method", "lora-pro", "--r", "4", "--alpha", "8", "--lr", "0.01",
                "--max-steps", Integer.toString(STEPS), "--global-batch", "2", "--micro-batch", "2",
                "--warmup-ratio", "0.05", "--checkpoint-interval", Integer.toString(INTERVAL), "--seed", "7",
                "--device", "cpu", "--max-seq-length", "32", "--log-interval", "1000000"));
        args.addAll(List.of(extra));
        return args;
    }

    /** {@code lorapro args} in a child JVM on the test classpath, offline, single-threaded. */
    private Process start(List<String> args, Path log) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                "-Xmx512m",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-Dai.djl.pytorch.num_threads=1", "-Dai.djl.pytorch.num_interop_threads=1",
                "ai.lorapro.cli.LoraProCli"));
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OPT_OUT_TRACKING", "true");
        pb.environment().put("DJL_OFFLINE", "true");
        return pb.start();
    }

    private int runToEnd(List<String> args, Path log) throws Exception {
        Process p = start(args, log);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("child did not finish: " + Files.readString(log));
        }
        return p.exitValue();
    }

    /** The last step in metrics.jsonl, 0 before the first. */
    private static long lastMetricsStep(Path out) throws IOException {
        Path file = out.resolve(TrainingEngine.METRICS_FILE);
        if (!Files.isRegularFile(file)) {
            return 0;
        }
        long last = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            Matcher m = METRICS_STEP.matcher(line);
            if (m.find() && line.endsWith("}")) {
                last = Long.parseLong(m.group(1));
            }
        }
        return last;
    }

    /** The steps of the published checkpoints, in order. */
    private static List<Long> publishedCheckpoints(Path out) throws IOException {
        Path dir = out.resolve(TrainingEngine.CHECKPOINTS_DIR);
        List<Long> steps = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return steps;
        }
        try (Stream<Path> entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries.sorted()::iterator) {
                Matcher m = CHECKPOINT.matcher(p.getFileName().toString());
                if (m.matches()) {
                    steps.add(Long.parseLong(m.group(1)));
                }
            }
        }
        return steps;
    }

    @Test
    void killedRunResumesToTheUninterruptedResultBitForBit() throws Exception {
        model = TinyHfModel.save(tmp.resolve("model"));
        data = tmp.resolve("train.jsonl");
        Files.writeString(data, TinyHfModel.jsonl(40, 1), StandardCharsets.UTF_8);

        Path whole = tmp.resolve("whole");
        long t0 = System.nanoTime();
        assertEquals(0, runToEnd(trainArgs(whole), tmp.resolve("whole.log")), () -> read(tmp.resolve("whole.log")));
        double wholeSeconds = (System.nanoTime() - t0) / 1e9;

        Path crashed = tmp.resolve("crashed");
        Process p = start(trainArgs(crashed), tmp.resolve("crashed.log"));
        long killedAt = -1;
        long lastCheckpoint = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline && p.isAlive()) {
            List<Long> published = publishedCheckpoints(crashed);
            long step = lastMetricsStep(crashed);
            if (!published.isEmpty()) {
                long c = published.get(published.size() - 1);
                // mid-way through the interval after a published checkpoint
                if (step >= c + INTERVAL / 2 && step <= c + INTERVAL * 4 / 5 && c + INTERVAL < STEPS) {
                    p.destroyForcibly();
                    killedAt = step;
                    lastCheckpoint = c;
                    break;
                }
            }
            Thread.sleep(1);
        }
        assertTrue(killedAt > 0, "the run was never caught mid-interval: " + read(tmp.resolve("crashed.log")));
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "not killed by SIGKILL");
        long stepAfterKill = lastMetricsStep(crashed);
        assertTrue(stepAfterKill < lastCheckpoint + INTERVAL, "step " + stepAfterKill);

        // what a crash leaves: published checkpoints are whole, anything else is a temporary
        Path checkpoints = crashed.resolve(TrainingEngine.CHECKPOINTS_DIR);
        try (Stream<Path> entries = Files.list(checkpoints)) {
            for (Path entry : (Iterable<Path>) entries::iterator) {
                String name = entry.getFileName().toString();
                assertTrue(CHECKPOINT.matcher(name).matches() || name.contains(".tmp-"), "stray entry " + entry);
            }
        }
        List<Long> published = publishedCheckpoints(crashed);
        assertEquals(lastCheckpoint, published.get(published.size() - 1));
        for (long step : published) {
            assertCompleteCheckpoint(TrainingEngine.checkpointDir(crashed, step), step);
        }

        Path resumeFrom = TrainingEngine.checkpointDir(crashed, lastCheckpoint);
        t0 = System.nanoTime();
        assertEquals(0, runToEnd(trainArgs(crashed, "--resume", resumeFrom.toString()), tmp.resolve("resumed.log")),
                () -> read(tmp.resolve("resumed.log")));
        double resumedSeconds = (System.nanoTime() - t0) / 1e9;

        Path expected = TrainingEngine.checkpointDir(whole, STEPS);
        Path actual = TrainingEngine.checkpointDir(crashed, STEPS);
        assertSameTensors(expected.resolve(TrainingCheckpoint.ADAPTER_DIR).resolve(PeftAdapter.WEIGHTS_NAME),
                actual.resolve(TrainingCheckpoint.ADAPTER_DIR).resolve(PeftAdapter.WEIGHTS_NAME));
        assertSameTensors(expected.resolve(TrainingCheckpoint.OPTIMIZER_FILE), actual.resolve(TrainingCheckpoint.OPTIMIZER_FILE));
        assertEquals(Files.readString(expected.resolve(TrainingCheckpoint.OPTIMIZER_STEPS_FILE)),
                Files.readString(actual.resolve(TrainingCheckpoint.OPTIMIZER_STEPS_FILE)));
        TrainerState a = TrainerState.read(expected);
        TrainerState b = TrainerState.read(actual);
        assertEquals(a.globalStep(), b.globalStep());
        assertEquals(a.position(), b.position());
        assertEquals(a.skippedSteps(), b.skippedSteps());
        assertEquals(a.datasetFingerprint(), b.datasetFingerprint());
        // the metrics hold every step once, with the uninterrupted run's losses
        MetricsLog.Series wholeLoss = MetricsLog.read(whole.resolve(TrainingEngine.METRICS_FILE), "loss");
        MetricsLog.Series resumedLoss = MetricsLog.read(crashed.resolve(TrainingEngine.METRICS_FILE), "loss");
        assertEquals(STEPS, wholeLoss.steps().length);
        assertArrayEquals(wholeLoss.steps(), resumedLoss.steps());
        assertArrayEquals(wholeLoss.values(), resumedLoss.values());
        System.out.printf("CrashResumeTest: uninterrupted %d steps in %.1f s; killed at step %d (last checkpoint %d,"
                        + " %d published); resumed from %d to %d in %.1f s; adapter and optimizer state bit-identical%n",
                STEPS, wholeSeconds, killedAt, lastCheckpoint, published.size(), lastCheckpoint, STEPS, resumedSeconds);
    }

    /** Every file of a LoRA checkpoint is there and loads; the trainer state names its step. */
    private static void assertCompleteCheckpoint(Path dir, long step) {
        Path adapter = dir.resolve(TrainingCheckpoint.ADAPTER_DIR);
        assertEquals(4, PeftAdapter.readConfig(adapter).getR(), dir.toString());
        readAll(adapter.resolve(PeftAdapter.WEIGHTS_NAME));
        readAll(dir.resolve(TrainingCheckpoint.OPTIMIZER_FILE));
        assertTrue(Files.isRegularFile(dir.resolve(TrainingCheckpoint.OPTIMIZER_STEPS_FILE)), dir.toString());
        assertEquals(step, TrainerState.read(dir).globalStep(), dir.toString());
    }

    private static void readAll(Path file) {
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertNotEquals(0, f.names().size(), file.toString());
            for (String name : f.names()) {
                f.floats(name);
            }
        }
    }

    private static void assertSameTensors(Path expected, Path actual) {
        try (SafetensorsFile a = SafetensorsFile.open(expected); SafetensorsFile b = SafetensorsFile.open(actual)) {
            assertEquals(a.names(), b.names());
            for (String name : a.names()) {
                assertEquals(a.info(name).dtype(), b.info(name).dtype(), name);
                assertEquals(a.info(name).shape(), b.info(name).shape(), name);
                ByteBuffer x = a.bytes(name);
                ByteBuffer y = b.bytes(name);
                byte[] xb = new byte[x.remaining()];
                byte[] yb = new byte[y.remaining()];
                x.get(xb);
                y.get(yb);
                assertArrayEquals(xb, yb, actual + ": " + name);
            }
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
