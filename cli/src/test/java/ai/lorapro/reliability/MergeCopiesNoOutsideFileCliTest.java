package ai.lorapro.reliability;

import static ai.lorapro.reliability.TinyHfModel.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.CliRun;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * {@code merge} copies the base directory's other files into the merged model, which is made to be
 * shared: a link in the base directory that leads out of it (a cloned repository can hold one,
 * say {@code special_tokens_map.json -> ~/.cache/huggingface/token}) must not copy what it names.
 * Links into the hub cache's {@code blobs/} still copy.
 */
class MergeCopiesNoOutsideFileCliTest extends TinyModelCliTestBase {

    @TempDir
    Path tmp;

    @Test
    void aLinkOutOfTheModelDirectoryIsNotCopied() throws IOException {
        Path base = tmp.resolve("base");
        Files.createDirectories(base);
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, base.resolve(f.getFileName()));
            }
        }
        Path secret = Files.writeString(tmp.resolve("token"), "hf_secret_token\n");
        Files.createSymbolicLink(base.resolve("special_tokens_map.json"), secret);
        Path out = tmp.resolve("merged");
        CliRun.Result r = cli("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        Path copied = out.resolve("special_tokens_map.json");
        assertFalse(Files.exists(copied) && Files.readString(copied).contains("hf_secret_token"),
                "the merged model holds the file the link named");
    }

    /** What merge does not copy (a directory, a link to nothing) is said, not skipped silently. */
    @Test
    void directoriesAndDanglingLinksAreNamedInAWarning() throws IOException {
        Path base = TinyHfModel.copy(model, tmp.resolve("base"));
        Files.createDirectories(base.resolve("original"));
        Files.createSymbolicLink(base.resolve("chat_template.jinja"), base.resolve("missing.jinja"));
        Path out = tmp.resolve("merged");
        CliRun.Result r = cli("merge", "--model", base.toString(), "--adapter", adapter.toString(), "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("lorapro: warning: not copied into " + out + " (merge copies the files beside the"
                + " weights): chat_template.jinja (a link to nothing), original/"), r.err());
    }

    @Test
    void hubSnapshotLinksIntoBlobsAreCopied() throws IOException {
        Path snapshot = TinyHfModel.hubSnapshot(model, tmp.resolve("hub"), false);
        Path blobs = snapshot.getParent().getParent().resolve("blobs");
        Path blob = Files.writeString(blobs.resolve("blob-generation"), "{}\n");
        Files.createSymbolicLink(snapshot.resolve("generation_config.json"), snapshot.relativize(blob));
        Path out = tmp.resolve("merged");
        CliRun.Result r = cli("merge", "--model", snapshot.toString(), "--adapter", adapter.toString(), "--out",
                out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(out.resolve("generation_config.json")));

        // huggingface-cli download --local-dir: large files are links into the cache's blobs/
        Path local = Files.createDirectories(tmp.resolve("local-dir"));
        try (Stream<Path> files = Files.list(snapshot)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.createSymbolicLink(local.resolve(f.getFileName()), f.toRealPath());
            }
        }
        Path localOut = tmp.resolve("merged-local");
        CliRun.Result fromLocal = cli("merge", "--model", local.toString(), "--adapter", adapter.toString(), "--out",
                localOut.toString());
        assertEquals(0, fromLocal.code(), fromLocal.err());
        assertTrue(Files.isRegularFile(localOut.resolve("generation_config.json")));
        assertFalse(fromLocal.err().contains("warning"), fromLocal.err());
    }
}
