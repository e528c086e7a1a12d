package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** {@link Checkpoints}: the one definition of a finished checkpoint, and the latest one. */
class CheckpointsTest {

    @TempDir
    Path tmp;

    private Path checkpoint(Path checkpoints, String name) throws IOException {
        Path dir = Files.createDirectories(checkpoints.resolve(name));
        Files.writeString(dir.resolve(TrainerState.FILE_NAME), "{}");
        return dir;
    }

    @Test
    void onlyDirectoriesNamedAsTheLibraryNamesThemAndHoldingATrainerStateAreFinished() throws IOException {
        Path checkpoints = tmp.resolve("checkpoints");
        Path two = checkpoint(checkpoints, "step-000002");
        Path ten = checkpoint(checkpoints, "step-000010");
        checkpoint(checkpoints, "step-4");                                    // a name the library never writes
        checkpoint(checkpoints, "step-000011.tmp-abcdefgh");                   // a temporary copy
        Files.createDirectories(checkpoints.resolve("step-000012"));          // no trainer state: not published whole
        Files.createSymbolicLink(checkpoints.resolve("step-000013"), ten);    // a link to a checkpoint
        Path stateDir = checkpoint(tmp, "elsewhere");
        Path fifteen = Files.createDirectories(checkpoints.resolve("step-000015"));
        Files.createSymbolicLink(fifteen.resolve(TrainerState.FILE_NAME), stateDir.resolve(TrainerState.FILE_NAME));

        assertEquals(List.of(two, ten), Checkpoints.finished(checkpoints));
        assertEquals(ten, Checkpoints.latest(checkpoints));
        assertTrue(Checkpoints.isFinished(two));
        assertFalse(Checkpoints.isFinished(checkpoints.resolve("step-000012")));
        assertFalse(Checkpoints.isFinished(checkpoints.resolve("step-000013")));
        assertFalse(Checkpoints.isFinished(fifteen));
    }

    @Test
    void aMissingDirectoryHoldsNoCheckpoints() throws IOException {
        assertEquals(List.of(), Checkpoints.finished(tmp.resolve("nothing")));
        assertNull(Checkpoints.latest(tmp.resolve("nothing")));
    }

    @Test
    void namesAndStepsRoundTrip() {
        assertEquals("step-000012", Checkpoints.name(12));
        assertEquals(12, Checkpoints.stepOf(Path.of("a").resolve(Checkpoints.name(12))));
        assertEquals(1234567, Checkpoints.stepOf(Path.of(Checkpoints.name(1234567))));
    }
}
