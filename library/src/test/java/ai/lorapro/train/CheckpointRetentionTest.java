package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** {@link CheckpointRetention}: which directories it deletes, and which it never touches. */
class CheckpointRetentionTest {

    @TempDir
    Path tmp;

    /** A finished checkpoint: a directory with a trainer state and some content. */
    private Path checkpoint(Path checkpoints, String name) throws IOException {
        Path dir = Files.createDirectories(checkpoints.resolve(name));
        Files.writeString(dir.resolve(TrainerState.FILE_NAME), "{}");
        Files.createDirectories(dir.resolve("adapter"));
        Files.writeString(dir.resolve("adapter/adapter_config.json"), "{}");
        return dir;
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void keepsTheNewestByStepAndDeletesTheOthersWhole() throws IOException {
        Path checkpoints = tmp.resolve("checkpoints");
        for (String step : List.of("step-000009", "step-000010", "step-000002", "step-000100")) {
            checkpoint(checkpoints, step);
        }
        Path latest = checkpoints.resolve("step-000100");
        List<Path> deleted = CheckpointRetention.keepNewest(checkpoints, 2, latest);
        assertEquals(List.of(checkpoints.resolve("step-000002"), checkpoints.resolve("step-000009")), deleted);
        // nothing half-deleted or renamed is left behind
        assertEquals(List.of("step-000010", "step-000100"), names(checkpoints));
        assertEquals(List.of(), CheckpointRetention.keepNewest(checkpoints, 2, latest));
    }

    @Test
    void touchesNothingButFinishedCheckpointDirectories() throws IOException {
        Path checkpoints = tmp.resolve("checkpoints");
        Path outside = checkpoint(tmp, "elsewhere");
        Path kept = checkpoint(checkpoints, "step-000050");
        // not finished (no trainer state), a link to a checkpoint, a file, other names, a leftover
        Files.createDirectories(checkpoints.resolve("step-000001"));
        Files.createSymbolicLink(checkpoints.resolve("step-000002"), outside);
        Files.writeString(checkpoints.resolve("step-000003"), "a file");
        checkpoint(checkpoints, "step-4");
        checkpoint(checkpoints, "best");
        checkpoint(checkpoints, "step-000005.old-x");
        // a finished checkpoint holding a link out of the run: the link goes, its target stays
        Path old = checkpoint(checkpoints, "step-000006");
        Files.createSymbolicLink(old.resolve("base"), outside);

        List<Path> deleted = CheckpointRetention.keepNewest(checkpoints, 1, kept);

        assertEquals(List.of(old), deleted);
        assertEquals(List.of("best", "step-000001", "step-000002", "step-000003", "step-000005.old-x", "step-000050",
                "step-4"), names(checkpoints));
        assertTrue(Files.isRegularFile(outside.resolve(TrainerState.FILE_NAME)));
        assertTrue(Files.isRegularFile(outside.resolve("adapter/adapter_config.json")));
    }

    /**
     * A run resumed from an earlier step keeps what it just wrote, and neither counts nor deletes the
     * earlier run's higher steps (it replaces them as it reaches them).
     */
    @Test
    void checkpointsAboveTheOneJustWrittenAreNeitherCountedNorDeleted() throws IOException {
        Path checkpoints = tmp.resolve("checkpoints");
        checkpoint(checkpoints, "step-000020");
        checkpoint(checkpoints, "step-000030");
        checkpoint(checkpoints, "step-000010");
        checkpoint(checkpoints, "step-000011");
        Path written = checkpoint(checkpoints, "step-000012");
        assertEquals(List.of(checkpoints.resolve("step-000010")),
                CheckpointRetention.keepNewest(checkpoints, 2, written));
        assertEquals(List.of("step-000011", "step-000012", "step-000020", "step-000030"), names(checkpoints));
        assertEquals(List.of(checkpoints.resolve("step-000011")),
                CheckpointRetention.keepNewest(checkpoints, 1, written));
        assertEquals(List.of("step-000012", "step-000020", "step-000030"), names(checkpoints));
    }

    @Test
    void aMissingDirectoryDeletesNothingAndAKeepBelowOneIsRefused() {
        Path checkpoints = tmp.resolve("none");
        assertEquals(List.of(), CheckpointRetention.keepNewest(checkpoints, 1, checkpoints.resolve("step-000001")));
        assertThrows(IllegalArgumentException.class,
                () -> CheckpointRetention.keepNewest(tmp, 0, tmp.resolve("step-000001")));
    }

    @Test
    void stepOfReadsOnlyStepNames() {
        assertEquals(12, Checkpoints.stepOf(Path.of("a/step-000012")));
        assertEquals(1234567, Checkpoints.stepOf(Path.of("step-1234567")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("step-")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("step-4")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("step-0000012")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("step-12.tmp-abc")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("step-99999999999999999999")));
        assertEquals(-1, Checkpoints.stepOf(Path.of("/")));
    }
}
