package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.LoraProException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Files written together ({@link AtomicFiles#writeAll}): all replaced, or none. */
class AtomicFilesTest {

    @TempDir Path tmp;

    private Path weights;
    private Path config;

    private void writeOldAdapter() {
        weights = tmp.resolve("adapter/adapter_model.safetensors");
        config = tmp.resolve("adapter/adapter_config.json");
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(weights, out -> out.write(1));
        files.put(config, out -> out.write(2));
        AtomicFiles.writeAll(files);
    }

    private List<Path> listing() throws IOException {
        try (Stream<Path> files = Files.list(weights.getParent())) {
            return files.sorted().toList();
        }
    }

    @Test
    void aFailureWhileWritingReplacesNone() throws IOException {
        writeOldAdapter();
        Map<Path, AtomicFiles.StreamWriter> failing = new LinkedHashMap<>();
        failing.put(weights, out -> out.write(new byte[] {7, 7}));
        failing.put(config, out -> {
            throw new IOException("disk full");
        });
        LoraProException e = assertThrows(LoraProException.class, () -> AtomicFiles.writeAll(failing));
        assertTrue(e.getMessage().contains("adapter_config.json") && e.getMessage().contains("disk full"),
                e.getMessage());
        // the weights, written in full before the config failed, did not replace the old ones
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(weights));
        assertArrayEquals(new byte[] {2}, Files.readAllBytes(config));
        assertEquals(List.of(config, weights), listing(), "no temporary file is left");
    }

    @Test
    void aTargetThatIsADirectoryIsRefusedBeforeAnythingIsRenamed() throws IOException {
        writeOldAdapter();
        Path directory = Files.createDirectories(tmp.resolve("adapter/extra.json"));
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(weights, out -> out.write(9));
        files.put(directory, out -> out.write(9));
        LoraProException e = assertThrows(LoraProException.class, () -> AtomicFiles.writeAll(files));
        assertTrue(e.getMessage().contains("it is a directory"), e.getMessage());
        assertArrayEquals(new byte[] {1}, Files.readAllBytes(weights));
        assertEquals(List.of(config, weights, directory), listing());
    }

    @Test
    void theSameFileNamedTwiceIsRefused() {
        Path a = tmp.resolve("a.json");
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(a, out -> out.write(1));
        files.put(tmp.resolve("sub/../a.json"), out -> out.write(2));
        assertThrows(IllegalArgumentException.class, () -> AtomicFiles.writeAll(files));
        assertTrue(!Files.exists(a));
    }
}
