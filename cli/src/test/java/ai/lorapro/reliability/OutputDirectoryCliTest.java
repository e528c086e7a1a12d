package ai.lorapro.reliability;

import static ai.lorapro.reliability.BadCheckpointCliTest.assertOneLineBadInput;
import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;
import ai.lorapro.cli.CliRun;
import ai.lorapro.cli.OutputDirectoryGuard;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;

/**
 * A command never deletes what it did not create: {@code merge --out} refuses a non-empty
 * directory unless {@code --overwrite}, and refuses the model and adapter directories (and what
 * contains them) even then; {@code eval --task --out} never writes into an input directory.
 */
class OutputDirectoryCliTest extends TinyModelCliTestBase {

    @TempDir
    Path tmp;

    /** Fresh copies per test, which the tests place under directories they then use as --out. */
    private Path model;
    private Path adapter;

    private void saveModelAndAdapter(Path root) throws IOException {
        model = TinyHfModel.save(root.resolve("model"));
        adapter = TinyHfModel.adapter(root.resolve("adapter"), model);
    }

    private CliRun.Result merge(Path out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("merge", "--model", model.toString(),
                "--adapter", adapter.toString(), "--out", out.toString()));
        args.addAll(List.of(extra));
        return cli(args.toArray(String[]::new));
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            return all.map(p -> dir.relativize(p).toString()).sorted().toList();
        }
    }

    @Test
    void aNonEmptyOutIsRefusedAndKeptUnlessOverwrite() throws IOException {
        saveModelAndAdapter(tmp);
        Path mine = tmp.resolve("my-folder");
        Files.createDirectories(mine.resolve("sub"));
        Files.writeString(mine.resolve("notes.txt"), "precious", StandardCharsets.UTF_8);
        List<String> before = listing(mine);

        assertOneLineBadInput("merge into a non-empty folder", merge(mine), mine.toString(), "not empty",
                "--overwrite");
        assertEquals(before, listing(mine));
        assertEquals("precious", Files.readString(mine.resolve("notes.txt")));

        CliRun.Result replaced = merge(mine, "--overwrite");
        assertEquals(0, replaced.code(), replaced.err());
        assertTrue(Files.isRegularFile(mine.resolve("model.safetensors")));
        assertFalse(Files.exists(mine.resolve("notes.txt")), "--overwrite replaces the directory");
    }

    @Test
    void anEmptyOrMissingOutIsWritten() throws IOException {
        saveModelAndAdapter(tmp);
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        assertEquals(0, merge(empty).code());
        assertTrue(Files.isRegularFile(empty.resolve("model.safetensors")));
        Path fresh = tmp.resolve("a/b/fresh");
        assertEquals(0, merge(fresh).code());
        assertTrue(Files.isRegularFile(fresh.resolve("config.json")));
    }

    @Test
    void theInputDirectoriesAndTheirAncestorsAreRefusedEvenWithOverwrite() throws IOException {
        Path root = tmp.resolve("inputs");
        saveModelAndAdapter(root);
        List<String> before = listing(root);
        Path link = Files.createSymbolicLink(tmp.resolve("link-to-model"), model);
        for (String[] c : new String[][] {{model.toString(), "is the --model"}, {adapter.toString(), "is the --adapter"},
                {root.toString(), "contains the --model"}, {link.toString(), "is the --model"},
                {model.resolve("..").resolve("model").toString(), "is the --model"}}) {
            assertOneLineBadInput("merge --out " + c[0], merge(Path.of(c[0]), "--overwrite"), c[1]);
            assertOneLineBadInput("merge --out " + c[0], merge(Path.of(c[0])), c[0]);
        }
        assertEquals(before, listing(root));
    }

    /**
     * A model in the Hugging Face hub's layout (its files are links into {@code blobs/}) merges, and
     * {@code blobs/} itself, or what holds it, is refused as --out even with --overwrite: replacing
     * it would delete the model's weights.
     */
    @Test
    void theDirectoryAModelsLinksLeadIntoIsRefused() throws IOException {
        saveModelAndAdapter(tmp);
        Path snapshot = TinyHfModel.hubSnapshot(model, tmp.resolve("hub"), true);
        Path repo = snapshot.getParent().getParent();
        Path blobs = repo.resolve("blobs");
        model = snapshot;
        List<String> before = listing(blobs);
        assertOneLineBadInput("merge --out blobs", merge(blobs, "--overwrite"), "--model's files link into");
        assertOneLineBadInput("merge --out the repository", merge(repo, "--overwrite"), "contains");
        assertEquals(before, listing(blobs));
        // a new directory inside it replaces none of its files
        CliRun.Result inside = merge(blobs.resolve("merged"));
        assertEquals(0, inside.code(), inside.err());
        CliRun.Result merged = merge(tmp.resolve("merged"));
        assertEquals(0, merged.code(), merged.err());
    }

    /**
     * The current directory and what holds it are never replaced, nor the home directory, even with
     * {@code --overwrite} (checked on the guard alone: a merge that ran would replace them).
     */
    @Test
    void theCurrentAndHomeDirectoriesAndTheirAncestorsAreRefused() {
        Path cwd = Path.of("").toAbsolutePath();
        for (Path out : List.of(Path.of("."), cwd, cwd.getParent(), cwd.resolve("sub/../.."),
                Path.of(System.getProperty("user.home")))) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> new OutputDirectoryGuard("--out", out).requireReplaceable(true), out.toString());
            if (Files.isWritable(out)) {
                assertTrue(e.getMessage().contains("which replacing it would delete"), e.getMessage());
            }
        }
    }

    @Test
    void outUnderAFileIsBadInput() throws IOException {
        saveModelAndAdapter(tmp);
        Path file = Files.writeString(tmp.resolve("plain.txt"), "x");
        assertOneLineBadInput("merge --out FILE", merge(file), "plain.txt", "not a directory");
        assertOneLineBadInput("merge --out FILE/sub", merge(file.resolve("sub")), "plain.txt", "not a directory");
        Path data = Files.writeString(tmp.resolve("d.jsonl"), TinyHfModel.jsonl(2, 1));
        assertOneLineBadInput("eval --task --out FILE/sub", cli("eval", "--task", "gsm8k", "--model", model.toString(),
                "--data", data.toString(), "--out", file.resolve("sub").toString()), "plain.txt", "not a directory");
    }

    /**
     * An --out that cannot be made is refused before the work: under a link to nothing (it failed
     * after the whole evaluation, exit 1, and the link itself was "not empty"), or where the file
     * system takes no directory though the access check says writable (/proc, as root). The probe
     * leaves nothing behind.
     */
    @Test
    void anOutThatCannotBeMadeIsRefusedBeforeTheWork() throws IOException {
        saveModelAndAdapter(tmp);
        Path data = Files.writeString(tmp.resolve("d.jsonl"), TinyHfModel.jsonl(2, 1));
        Path dangling = Files.createSymbolicLink(tmp.resolve("dangling"), tmp.resolve("gone"));
        for (Path out : List.of(dangling, dangling.resolve("res"))) {
            assertOneLineBadInput("eval --task --out " + out, cli("eval", "--task", "gsm8k", "--model",
                    model.toString(), "--data", data.toString(), "--out", out.toString()), "dangling",
                    "is a link to " + tmp.resolve("gone") + ", which does not exist");
            assertOneLineBadInput("merge --out " + out, merge(out), "dangling", "which does not exist");
        }
        assertFalse(Files.exists(tmp.resolve("gone")));
        if (Files.isDirectory(Path.of("/proc/self"))) {
            assertOneLineBadInput("merge --out /proc/...", merge(Path.of("/proc/lorapro-out/sub")), "/proc/lorapro-out",
                    "cannot create");
        }
        // a creatable --out is probed and removed again: the refusal that follows leaves no directory
        Path fresh = tmp.resolve("fresh/deeper");
        assertOneLineBadInput("eval --task with a bad model", cli("eval", "--task", "gsm8k", "--model",
                tmp.resolve("no-model").toString(), "--data", data.toString(), "--out", fresh.toString()), "no-model",
                "");
        assertFalse(Files.exists(tmp.resolve("fresh")));
    }

    @Test
    void trainNeverWritesIntoTheModelAndEvalTaskNeverReplacesFilesUnasked() throws IOException {
        saveModelAndAdapter(tmp);
        Path data = Files.writeString(tmp.resolve("d.jsonl"), TinyHfModel.jsonl(2, 1));
        List<String> before = listing(model);
        assertOneLineBadInput("train --out MODEL", cli("train", "--model", model.toString(), "--data", data.toString(),
                "--out", model.toString(), "--max-steps", "1"), "is the --model");
        assertEquals(before, listing(model));
        assertOneLineBadInput("train --out ''", cli("train", "--model", model.toString(), "--data", data.toString(),
                "--out", "", "--max-steps", "1"), "--out", "empty");
        assertOneLineBadInput("eval --task --out ''", cli("eval", "--task", "gsm8k", "--model", model.toString(),
                "--data", data.toString(), "--out", ""), "--out", "empty");

        Path earlier = Files.createDirectories(tmp.resolve("earlier-eval"));
        Files.writeString(earlier.resolve("metrics.json"), "{\"accuracy\": 0.5}\n");
        assertOneLineBadInput("eval --task into an earlier evaluation", cli("eval", "--task", "gsm8k", "--model",
                model.toString(), "--data", data.toString(), "--out", earlier.toString()), "not empty", "--overwrite");
        assertEquals("{\"accuracy\": 0.5}\n", Files.readString(earlier.resolve("metrics.json")));
        Files.writeString(earlier.resolve("notes.txt"), "mine");
        Path gsm = Files.writeString(tmp.resolve("gsm.jsonl"), "{\"question\": \"1+1?\", \"answer\": \"#### 2\"}\n");
        CliRun.Result allowed = cli("eval", "--task", "gsm8k", "--model", model.toString(), "--data", gsm.toString(),
                "--out", earlier.toString(), "--overwrite", "--max-new-tokens", "2", "--device", "cpu");
        assertEquals(0, allowed.code(), allowed.err());
        assertTrue(Files.readString(earlier.resolve("metrics.json")).contains("\"task\": \"gsm8k\""), "replaced");
        assertEquals("mine", Files.readString(earlier.resolve("notes.txt")), "a file of another name stays");
        assertOneLineBadInput("eval --task --out MODEL", cli("eval", "--task", "gsm8k", "--model", model.toString(),
                "--data", data.toString(), "--out", model.toString(), "--overwrite"), "is the --model");
        // an input among the files the task writes (an earlier run's predictions given as data), or
        // a link to one: --overwrite would replace it
        Path inside = Files.copy(gsm, earlier.resolve("predictions.jsonl"), StandardCopyOption.REPLACE_EXISTING);
        Path link = Files.createSymbolicLink(tmp.resolve("link.jsonl"), inside);
        for (Path input : List.of(inside, link)) {
            assertOneLineBadInput("eval --task --data OUT/FILE", cli("eval", "--task", "gsm8k", "--model",
                    model.toString(), "--data", input.toString(), "--out", earlier.toString(), "--overwrite",
                    "--max-new-tokens", "2", "--device", "cpu"), "holds the --data file");
            assertEquals(Files.readString(gsm), Files.readString(inside));
        }
    }
}
