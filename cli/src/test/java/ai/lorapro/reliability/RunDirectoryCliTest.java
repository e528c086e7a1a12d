package ai.lorapro.reliability;

import static ai.lorapro.reliability.BadCheckpointCliTest.assertOneLineBadInput;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.lorapro.cli.CliRun;
import ai.lorapro.cli.LoraProCli;
import ai.lorapro.cli.RunDirectoryLock;
import ai.lorapro.cli.TrainLauncher;
import ai.lorapro.optim.FusedKernels;
import ai.lorapro.train.TrainingEngine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One run per output directory: a held lock refuses a second run at once with the holder's PID;
 * a new run into a directory with another run's checkpoints needs {@code --resume} or {@code
 * --overwrite}; an interrupted run's temporary entries are removed at the next start.
 */
class RunDirectoryCliTest extends TinyModelCliTestBase {


    @TempDir
    Path tmp;

    private static CliRun.Result train(Path out, int steps, String... extra) {
        return cli(trainArgs(out, steps, extra));
    }

    private static String[] trainArgs(Path out, int steps, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--model", model.toString(), "--data", data.toString(),
                "--out", out.toString(), "--max-steps", String.valueOf(steps), "--checkpoint-interval", "1",
                "--global-batch", "2", "--micro-batch", "2", "--device", "cpu", "--method", "lora"));
        args.addAll(List.of(extra));
        return args.toArray(String[]::new);
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static List<String> checkpoints(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out.resolve("checkpoints"))) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aLockHeldInThisProcessRefusesASecondRunAtOnce() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("run"));
        try (RunDirectoryLock held = RunDirectoryLock.acquire(out, "--out")) {
            long t0 = System.nanoTime();
            CliRun.Result second = train(out, 1);
            assertOneLineBadInput("second run", second, "in use by another run",
                    "PID " + ProcessHandle.current().pid());
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "refused at once");
        }
        assertFalse(Files.exists(out.resolve("checkpoints")));
        assertEquals(0, train(out, 1).code(), "the lock is free again");
    }

    /** A lock file that is a link is refused, and the file it names is left as it was (not truncated to a PID). */
    @Test
    void aLockFileThatIsALinkIsRefusedAndItsTargetUntouched() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("run"));
        Path precious = Files.writeString(tmp.resolve("precious.txt"), "keep me\n");
        Files.createSymbolicLink(out.resolve(RunDirectoryLock.FILE_NAME), precious);
        assertOneLineBadInput("linked lock", train(out, 1), "is a symbolic link");
        assertEquals("keep me\n", Files.readString(precious));
        assertFalse(Files.exists(out.resolve("checkpoints")));
    }

    /** Another process holds the lock (fcntl, as the JVM's file lock): its PID is named. */
    @Test
    void aLockHeldByAnotherProcessNamesItsPid() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("run"));
        Path lockFile = out.resolve(RunDirectoryLock.FILE_NAME);
        String holder = "import fcntl, os, sys, time\n"
                + "f = open(sys.argv[1], 'a+')\n"
                + "fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
                + "f.truncate(0); f.write(str(os.getpid()) + '\\n'); f.flush()\n"
                + "print('locked', flush=True)\n"
                + "sys.stdin.read()\n";
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", holder, lockFile.toString()).start();
        } catch (IOException e) {
            assumeTrue(false, "python3 not available");
            return;
        }
        try {
            BufferedReader reader = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("locked", reader.readLine());
            assertOneLineBadInput("run while another process holds the lock", train(out, 1),
                    "in use by another run (PID " + p.pid() + ")");
        } finally {
            p.getOutputStream().close();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        }
        assertEquals(0, train(out, 1).code(), "the lock died with its holder");
    }

    /**
     * A run refused at its first step (here a mistyped kernel property, now refused before the
     * directory is touched) leaves at most an empty metrics.jsonl, which does not block the rerun;
     * one with lines still does.
     */
    @Test
    void anEmptyMetricsFileDoesNotBlockARerunButAWrittenOneDoes() throws IOException {
        Path out = Files.createDirectories(tmp.resolve("run"));
        String before = System.getProperty(FusedKernels.PROPERTY);
        try {
            System.setProperty(FusedKernels.PROPERTY, "vectr");
            assertOneLineBadInput("mistyped kernel", cli("train", "--model", model.toString(), "--data",
                    data.toString(), "--out", out.toString(), "--max-steps", "1", "--device", "cpu", "--method",
                    "lora-pro"), FusedKernels.PROPERTY, "vectr");
        } finally {
            if (before == null) {
                System.clearProperty(FusedKernels.PROPERTY);
            } else {
                System.setProperty(FusedKernels.PROPERTY, before);
            }
        }
        assertFalse(Files.exists(out.resolve(TrainingEngine.METRICS_FILE)));
        Files.createFile(out.resolve(TrainingEngine.METRICS_FILE));
        CliRun.Result rerun = train(out, 1);
        assertEquals(0, rerun.code(), rerun.err());
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve(TrainingEngine.METRICS_FILE), "{\"step\": 1}\n");
        assertOneLineBadInput("written metrics", train(other, 1), TrainingEngine.METRICS_FILE, "--overwrite");
    }

    @Test
    void aNewRunIntoAnotherRunsCheckpointsNeedsResumeOrOverwrite() throws IOException {
        Path out = tmp.resolve("run");
        CliRun.Result first = train(out, 2);
        assertEquals(0, first.code(), first.err());
        assertEquals(List.of("step-000001", "step-000002"), checkpoints(out));
        byte[] adapter = Files.readAllBytes(out.resolve("checkpoints/step-000002/adapter/adapter_model.safetensors"));

        assertOneLineBadInput("new run into old checkpoints", train(out, 1), "another run's checkpoints",
                "--resume", "--overwrite");
        assertEquals(List.of("step-000001", "step-000002"), checkpoints(out));
        // resuming the finished run would train nothing (and used to report a NaN final loss)
        assertOneLineBadInput("resume at the last step", train(out, 2, "--resume",
                out.resolve("checkpoints/step-000002").toString()), "step 2, the last of this run", "--max-steps");
        assertTrue(java.util.Arrays.equals(adapter,
                Files.readAllBytes(out.resolve("checkpoints/step-000002/adapter/adapter_model.safetensors"))));

        // an --overwrite run that fails before its first checkpoint puts the old run back
        Path bad = Files.writeString(tmp.resolve("bad.jsonl"), "{not json\n");
        CliRun.Result failed = cli("train", "--model", model.toString(), "--data", bad.toString(), "--out",
                out.toString(), "--max-steps", "1", "--device", "cpu", "--overwrite");
        assertEquals(2, failed.code(), failed.err());
        assertEquals(List.of("step-000001", "step-000002"), checkpoints(out));
        assertTrue(java.util.Arrays.equals(adapter,
                Files.readAllBytes(out.resolve("checkpoints/step-000002/adapter/adapter_model.safetensors"))));

        CliRun.Result resumed = train(out, 3, "--resume", out.resolve("checkpoints/step-000002").toString(),
                "--allow-resume-change", "total_steps");
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(List.of("step-000001", "step-000002", "step-000003"), checkpoints(out));

        CliRun.Result replaced = train(out, 1, "--overwrite");
        assertEquals(0, replaced.code(), replaced.err());
        assertEquals(List.of("step-000001"), checkpoints(out), "only the new run's checkpoints");
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of(".lorapro-run.lock", "checkpoints", "loss.png", "metrics.jsonl"),
                    s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        // the plot is written like every other output: readable by others where the umask allows it
        if (Files.getFileStore(out).supportsFileAttributeView("posix")) {
            assertEquals(Files.getPosixFilePermissions(out.resolve("metrics.jsonl")),
                    Files.getPosixFilePermissions(out.resolve("loss.png")));
        }
    }

    @Test
    void anInterruptedRunsTemporaryEntriesAreRemovedAtTheNextStart() throws IOException {
        Path out = tmp.resolve("run");
        Files.createDirectories(out.resolve("checkpoints/step-000007.tmp-3k2j1h0abcdef/adapter"));
        Files.writeString(out.resolve(RunDirectoryLock.FILE_NAME), "12345\n"); // the killed run's lock file
        Files.writeString(out.resolve("checkpoints/step-000007.tmp-3k2j1h0abcdef/adapter/x"), "half");
        Files.createDirectories(out.resolve("checkpoints/step-000004.tmp-zz9zz9zz9zz9z"));
        Files.writeString(out.resolve("metrics.jsonl.tmp-a1b2a1b2a1b2a"), "torn");
        Files.writeString(out.resolve("loss.png.old-0000000000q00"), "set aside");
        // the user's entries, some named like ours (a backup of a run's outputs too): none is touched
        List<String> users = List.of("notes.tmp-mine.txt", "thesis.old-v1", "draft.tmp-1", "report.overwritten",
                "photos.old-backup/img.txt", "checkpoints.old-1/step-000003/x", "metrics.jsonl.old-run1",
                "eval.old-2024/metrics.json", "metrics.jsonl.overwritten", "loss.png.overwritten-1");
        for (String name : users) {
            Files.createDirectories(out.resolve(name).getParent());
            Files.writeString(out.resolve(name), "the user's");
        }
        CliRun.Result run = train(out, 1);
        assertEquals(0, run.code(), run.err());
        assertEquals(List.of("step-000001"), checkpoints(out));
        for (String ours : List.of("metrics.jsonl.tmp-a1b2a1b2a1b2a", "loss.png.old-0000000000q00")) {
            assertFalse(Files.exists(out.resolve(ours)), ours);
        }
        for (String name : users) {
            assertEquals("the user's", Files.readString(out.resolve(name)), "a file we did not write stays: " + name);
        }
    }

    /**
     * A checkpoint that --keep-checkpoints renamed to step-N.tmp-x but could not delete (made
     * read-only by its owner) is logged and the run goes on; the next start into the directory
     * must go on too, not fail on the same leftover (it exited 1 "cannot restore the previous
     * run's files", even with --overwrite).
     */
    @Test
    void aLeftoverThatCannotBeDeletedDoesNotStopTheNextStart() throws Exception {
        Path out = tmp.resolve("run");
        assertEquals(0, train(out, 2).code());
        Path leftover = out.resolve("checkpoints/step-000001.tmp-0ytacghgeziql");
        Files.move(out.resolve("checkpoints/step-000001"), leftover);
        Path locked = leftover.resolve("adapter");
        boolean root = "0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream().readAllBytes(),
                StandardCharsets.UTF_8).trim());
        List<String> lock = root ? List.of("chattr", "+i", locked.toString())
                : List.of("chmod", "a-w", locked.toString());
        List<String> unlock = root ? List.of("chattr", "-i", locked.toString())
                : List.of("chmod", "u+w", locked.toString());
        assumeTrue(new ProcessBuilder(lock).inheritIO().start().waitFor() == 0, "cannot make a directory undeletable");
        try {
            CliRun.Result resumed = train(out, 3, "--resume", out.resolve("checkpoints/step-000002").toString(),
                    "--allow-resume-change", "total_steps", "--keep-checkpoints", "1");
            assertEquals(0, resumed.code(), resumed.err());
            assertTrue(Files.isDirectory(out.resolve("checkpoints/step-000003")));
        } finally {
            new ProcessBuilder(unlock).inheritIO().start().waitFor();
        }
    }

    @Test
    void aNewRunNeverReplacesAMetricsFileOrPlotUnasked() throws IOException {
        for (String name : List.of("metrics.jsonl", "loss.png")) {
            Path out = Files.createDirectories(tmp.resolve("run-" + name));
            Files.writeString(out.resolve(name), "the user's");
            assertOneLineBadInput("new run over " + name, train(out, 1), name, "--overwrite");
            // and again: the refused run's lock file does not make the user's file a run's
            assertOneLineBadInput("the same command again", train(out, 1), name, "--overwrite");
            assertEquals("the user's", Files.readString(out.resolve(name)));
            assertFalse(Files.exists(out.resolve("checkpoints")));
            CliRun.Result replaced = train(out, 1, "--overwrite");
            assertEquals(0, replaced.code(), replaced.err());
            assertEquals(List.of(name, RunDirectoryLock.FILE_NAME, "checkpoints", "loss.png", "metrics.jsonl").stream()
                    .distinct().sorted().toList(), listing(out), "nothing set aside is left");
        }
    }

    @Test
    void aFailedRunIsRunAgainWithOverwriteAndAKilledOverwriteRunsSetAsideIsPutBack() throws IOException {
        Path out = tmp.resolve("run");
        // a run that failed before its first checkpoint: its lock file and metrics stay, and a new run
        // needs --overwrite, as for any metrics.jsonl (they cannot be told from a user's)
        Files.createDirectories(out);
        Files.writeString(out.resolve(RunDirectoryLock.FILE_NAME), "1\n");
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\": 1}\n");
        assertOneLineBadInput("rerun of a failed run", train(out, 1), "metrics.jsonl", "--overwrite");
        CliRun.Result again = train(out, 1, "--overwrite");
        assertEquals(0, again.code(), again.err());
        assertEquals(List.of("step-000001"), checkpoints(out));
        assertEquals(List.of(RunDirectoryLock.FILE_NAME, "checkpoints", "loss.png", "metrics.jsonl"), listing(out),
                "nothing set aside is left");

        // an --overwrite run killed before its first checkpoint: the next start puts the old run back
        Files.move(out.resolve("checkpoints"), out.resolve("checkpoints.overwritten-0123456789abc"));
        Files.move(out.resolve("metrics.jsonl"), out.resolve("metrics.jsonl.overwritten-0123456789abc"));
        Files.writeString(out.resolve("metrics.jsonl"), "{\"step\": 1, \"torn\": true}\n");
        // killed while writing its first checkpoint: a half-written one is no checkpoint
        Files.createDirectories(out.resolve("checkpoints/step-000001.tmp-0123456789abc"));
        // (the new run is then refused: the restored checkpoints are another run's)
        assertOneLineBadInput("after the kill", train(out, 1), "another run's checkpoints");
        assertEquals(List.of("step-000001"), checkpoints(out), "the set-aside checkpoints are back");
        assertFalse(Files.readString(out.resolve("metrics.jsonl")).contains("torn"));

        // killed between the two renames that replace a checkpoint: the old one goes back in place
        Files.move(out.resolve("checkpoints/step-000001"), out.resolve("checkpoints/step-000001.old-0123456789abc"));
        Files.createDirectories(out.resolve("checkpoints/step-000001.tmp-0123456789abd"));
        assertOneLineBadInput("after the second kill", train(out, 1), "another run's checkpoints");
        assertEquals(List.of("step-000001"), checkpoints(out));
        assertTrue(Files.isRegularFile(out.resolve("checkpoints/step-000001/trainer_state.json")));
    }

    /**
     * An --overwrite run deletes the run it set aside as soon as its first checkpoint is published,
     * not when it ends: the disk holds both runs' checkpoints only while that one is written.
     */
    @Test
    void anOverwriteRunDeletesTheRunItReplacesAtItsFirstCheckpoint() throws IOException {
        Path out = tmp.resolve("run");
        assertEquals(0, train(out, 2).code());
        List<List<String>> around = new ArrayList<>(); // the listing before and after each checkpoint's hook
        StringWriter printed = new StringWriter();
        CommandLine cli = LoraProCli.commandLine((job, published) -> new TrainLauncher(new PrintWriter(printed, true))
                .launch(job, checkpoint -> {
                    around.add(uncheckedListing(out));
                    published.accept(checkpoint);
                    around.add(uncheckedListing(out));
                }));
        cli.setErr(new PrintWriter(new StringWriter()));
        assertEquals(0, cli.execute(trainArgs(out, 3, "--overwrite")), printed.toString());
        assertEquals(6, around.size(), "three checkpoints, each seen before and after its hook: " + around);
        assertTrue(around.get(0).stream().anyMatch(name -> name.startsWith("checkpoints.overwritten-")),
                "the previous run is set aside while the first checkpoint is written: " + around.get(0));
        for (List<String> listing : around.subList(1, around.size())) {
            assertTrue(listing.stream().noneMatch(name -> name.contains(".overwritten-")),
                    "deleted once the first checkpoint is published: " + listing);
        }
        assertEquals(List.of("step-000001", "step-000002", "step-000003"), checkpoints(out));

        // the command line as users run it passes its run directory's hook too (its log names the checkpoint)
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8)); // slf4j-simple writes to it at each call
        CliRun.Result again;
        try {
            again = train(out, 2, "--overwrite");
        } finally {
            System.setErr(err);
        }
        assertEquals(0, again.code(), again.err());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains(
                "step-000001 is published: deleting the previous run's outputs"), log.toString(StandardCharsets.UTF_8));
    }

    private static List<String> uncheckedListing(Path dir) {
        try {
            return listing(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A directory named as a checkpoint but without its trainer state was not published whole
     * ({@code Checkpoints}): it does not count as the killed --overwrite run's checkpoint, so the
     * run it was replacing is put back rather than deleted.
     */
    @Test
    void aCheckpointWithoutItsTrainerStateDoesNotReplaceTheRunSetAside() throws IOException {
        Path out = tmp.resolve("run");
        assertEquals(0, train(out, 1).code());
        Files.move(out.resolve("checkpoints"), out.resolve("checkpoints.overwritten-0123456789abc"));
        Files.move(out.resolve("metrics.jsonl"), out.resolve("metrics.jsonl.overwritten-0123456789abc"));
        Files.createDirectories(out.resolve("checkpoints/step-000001"));
        assertOneLineBadInput("after the kill", train(out, 1), "another run's checkpoints");
        assertTrue(Files.isRegularFile(out.resolve("checkpoints/step-000001/trainer_state.json")),
                "the set-aside run is back");
        assertFalse(Files.exists(out.resolve("checkpoints.overwritten-0123456789abc")));
    }

    /**
     * An --overwrite run killed before its first checkpoint set the previous run's checkpoints
     * aside: resuming one of them finds it back (it used to be refused as missing, before the
     * claim of the directory put them back).
     */
    @Test
    void aCheckpointAKilledOverwriteRunSetAsideCanBeResumed() throws IOException {
        Path out = tmp.resolve("run");
        assertEquals(0, train(out, 2).code());
        Files.move(out.resolve("checkpoints"), out.resolve("checkpoints.overwritten-0123456789abc"));
        Files.move(out.resolve("metrics.jsonl"), out.resolve("metrics.jsonl.overwritten-0123456789abc"));
        CliRun.Result resumed = train(out, 2, "--resume", out.resolve("checkpoints/step-000001").toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(List.of("step-000001", "step-000002"), checkpoints(out));
        assertFalse(Files.exists(out.resolve("checkpoints.overwritten-0123456789abc")));
        // a checkpoint of its own that is not there is still named
        assertOneLineBadInput("missing checkpoint", train(out, 2, "--resume",
                out.resolve("checkpoints/step-000009").toString()), "--resume", "step-000009", "is not a directory");
        // and a directory claimed only to find that out is not left behind
        Path fresh = tmp.resolve("fresh");
        assertOneLineBadInput("missing checkpoint of a new directory", train(fresh, 2, "--resume",
                fresh.resolve("checkpoints/step-000001").toString()), "is not a directory");
        assertFalse(Files.exists(fresh));
    }

    @Test
    void aCheckpointResumedIntoAnotherRunsDirectoryFollowsTheRulesOfANewRun() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        assertEquals(0, train(a, 2).code());
        assertEquals(0, train(b, 2).code());
        byte[] bMetrics = Files.readAllBytes(b.resolve("metrics.jsonl"));
        assertOneLineBadInput("resume a into b", train(b, 2, "--resume", a.resolve("checkpoints/step-000001").toString()),
                "another run's checkpoints");
        assertTrue(java.util.Arrays.equals(bMetrics, Files.readAllBytes(b.resolve("metrics.jsonl"))));
        // into a new directory it continues
        CliRun.Result branched = train(tmp.resolve("c"), 2, "--resume", a.resolve("checkpoints/step-000001").toString());
        assertEquals(0, branched.code(), branched.err());
        assertEquals(List.of("step-000002"), checkpoints(tmp.resolve("c")));
    }

    /** --overwrite sets the run's outputs aside before reading its inputs: an input inside one is refused. */
    @Test
    void anOverwriteRunRefusesInputsInsideTheOutputsItReplaces() throws IOException {
        Path out = tmp.resolve("inputs-inside");
        assertEquals(0, train(out, 1).code());
        Path data2 = Files.copy(data, out.resolve("checkpoints").resolve("data.jsonl"));
        Path linked = Files.createSymbolicLink(tmp.resolve("linked.jsonl"), data2);
        // a link inside checkpoints/ to a file elsewhere moves with checkpoints/ too
        Path outside = Files.copy(data, tmp.resolve("outside.jsonl"));
        Path linkInside = Files.createSymbolicLink(out.resolve("checkpoints").resolve("outside.jsonl"), outside);
        List<String> before = listing(out);
        for (Path input : List.of(data2, linked, linkInside)) {
            CliRun.Result r = cli("train", "--model", model.toString(), "--data", input.toString(), "--out",
                    out.toString(), "--max-steps", "1", "--device", "cpu", "--method", "lora", "--overwrite");
            assertOneLineBadInput("--data in checkpoints/", r, "--data " + input + " lies in " + out.resolve("checkpoints"));
        }
        assertEquals(before, listing(out), "nothing set aside");
        assertTrue(Files.isRegularFile(data2));
    }

    /** --resume naming the run directory itself points to its latest checkpoint. */
    @Test
    void resumingTheRunDirectoryItselfNamesItsLatestCheckpoint() {
        Path out = tmp.resolve("resume-dir");
        assertEquals(0, train(out, 2).code());
        assertOneLineBadInput("--resume OUT", train(out, 3, "--resume", out.toString(), "--allow-resume-change",
                "total_steps"), "--resume " + out + " is the run directory, not a checkpoint",
                "such as the latest, " + out.resolve("checkpoints/step-000002"));
    }

    @Test
    void aRunCannotBeNamedAfterARunsOutput() {
        for (String name : List.of("eval", "checkpoints", "metrics.jsonl")) {
            assertOneLineBadInput("--run-name " + name, train(tmp.resolve("runs"), 1, "--run-name", name),
                    "--run-name " + name);
        }
    }

    @Test
    void aRefusedRunLeavesNoDirectoryItCreated() {
        Path out = tmp.resolve("never");
        Path bad = tmp.resolve("bad.jsonl");
        try {
            Files.writeString(bad, "{not json\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        CliRun.Result r = cli("train", "--model", model.toString(), "--data", bad.toString(), "--out", out.toString(),
                "--max-steps", "1", "--device", "cpu");
        assertEquals(2, r.code(), r.err());
        assertFalse(Files.exists(out), "left " + out);
        // with a run name, the parents the claim created go too, and a parent that existed stays
        Path parent = tmp.resolve("runs/new");
        CliRun.Result named = cli("train", "--model", model.toString(), "--data", bad.toString(), "--out",
                parent.toString(), "--run-name", "a", "--max-steps", "1", "--device", "cpu");
        assertEquals(2, named.code(), named.err());
        assertFalse(Files.exists(tmp.resolve("runs")), "left " + tmp.resolve("runs"));
    }
}
