package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

class HfCheckpointTest {

    @TempDir Path tmp;

    private static Path sharded() {
        return Fixtures.hfTiny().resolve("llama-tiny-bf16-sharded");
    }

    private Path copyOfSharded() throws IOException {
        Path dir = tmp.resolve("model");
        Files.createDirectories(dir);
        try (Stream<Path> files = Files.list(sharded())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, dir.resolve(f.getFileName().toString()));
            }
        }
        return dir;
    }

    @Test
    void theBundledShardedFixtureHasSevenShards() {
        try (HfCheckpoint bf16 = HfCheckpoint.open(Fixtures.bundledHfTiny().resolve("llama-tiny-bf16-sharded"));
                HfCheckpoint f32 = HfCheckpoint.open(Fixtures.bundledHfTiny().resolve("llama-tiny"))) {
            assertEquals(7, bf16.shardCount());
            assertEquals(1, f32.shardCount());
        }
    }

    @Test
    void shardedBf16EqualsTheF32WeightsRoundedToBf16() {
        try (HfCheckpoint bf16 = HfCheckpoint.open(sharded());
                HfCheckpoint f32 = HfCheckpoint.open(Fixtures.hfTiny().resolve("llama-tiny"))) {
            assertEquals(f32.names(), bf16.names());
            for (String name : f32.names()) {
                assertEquals(TensorDType.BF16, bf16.info(name).dtype(), name);
                assertEquals(f32.info(name).shape(), bf16.info(name).shape(), name);
                float[] full = f32.floats(name);
                float[] half = bf16.floats(name);
                for (int i = 0; i < full.length; i++) {
                    float rounded = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(full[i]));
                    assertEquals(Float.floatToIntBits(rounded), Float.floatToIntBits(half[i]), name + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void loadsOntoTheDeviceInTheRequestedFloatType() {
        String name = "model.layers.1.self_attn.q_proj.weight";
        try (HfCheckpoint ckpt = HfCheckpoint.open(sharded());
                NDManager m = NDManager.newBaseManager()) {
            float[] host = ckpt.floats(name);
            NDArray f32 = ckpt.load(m, name, DataType.FLOAT32);
            assertEquals(DataType.FLOAT32, f32.getDataType());
            assertEquals(ckpt.info(name).shape(), f32.getShape());
            assertEquals(m.create(host, f32.getShape()), f32);
            NDArray f16 = ckpt.load(m, name, DataType.FLOAT16);
            assertEquals(DataType.FLOAT16, f16.getDataType());
            assertEquals(m.create(host, f32.getShape()).toType(DataType.FLOAT16, false), f16);
            // a bf16 array would abort the JVM in DJL's PyTorch engine; float64 would only pretend
            for (DataType refused : new DataType[] {DataType.BFLOAT16, DataType.FLOAT64, DataType.INT32}) {
                IllegalArgumentException e =
                        assertThrows(IllegalArgumentException.class, () -> ckpt.load(m, name, refused));
                assertTrue(e.getMessage().contains(refused.toString()), e.getMessage());
            }
        }
    }

    @Test
    void summaryAgreesWithTheIndexTotals() throws IOException {
        JsonObject meta = JsonParser.parseString(Files.readString(sharded().resolve(HfCheckpoint.INDEX_NAME)))
                .getAsJsonObject().getAsJsonObject("metadata");
        try (HfCheckpoint ckpt = HfCheckpoint.open(sharded())) {
            HfCheckpoint.Summary s = ckpt.summary();
            assertEquals(meta.get("total_parameters").getAsLong(), s.parameterCount());
            assertEquals(meta.get("total_size").getAsLong(), s.bytes());
            assertEquals(ckpt.names().size(), s.tensorCount());
            assertEquals(Map.of(TensorDType.BF16, s.parameterCount()), s.parametersByDtype());
            assertEquals(7, s.shardCount());
            assertTrue(s.toString().contains(s.parameterCount() + " parameters"));
        }
        try (HfCheckpoint f32 = HfCheckpoint.open(Fixtures.hfTiny().resolve("llama-tiny"))) {
            assertEquals(meta.get("total_parameters").getAsLong(), f32.summary().parameterCount());
            assertEquals(2 * meta.get("total_size").getAsLong(), f32.summary().bytes());
        }
    }

    @Test
    void missingShardIsNamedWithTheIndex() throws IOException {
        Path dir = copyOfSharded();
        Files.delete(dir.resolve("model-00003-of-00007.safetensors"));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("model-00003-of-00007.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains(HfCheckpoint.INDEX_NAME), e.getMessage());
    }

    @Test
    void tensorMissingFromItsShardIsNamed() throws IOException {
        Path dir = copyOfSharded();
        editIndex(dir, map -> map.addProperty("model.layers.0.self_attn.q_proj.weight", "model-00002-of-00007.safetensors"));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("model.layers.0.self_attn.q_proj.weight"), e.getMessage());
        assertTrue(e.getMessage().contains("model-00002-of-00007.safetensors"), e.getMessage());
    }

    @Test
    void shardNamesCannotLeaveTheDirectory() throws IOException {
        Path dir = copyOfSharded();
        Files.copy(dir.resolve("model-00001-of-00007.safetensors"), tmp.resolve("outside.safetensors"));
        for (String shard : new String[] {"../outside.safetensors", tmp.resolve("outside.safetensors").toString(), "."}) {
            editIndex(dir, map -> map.addProperty("lm_head.weight", shard));
            CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
            assertTrue(e.getMessage().contains("outside the model directory"), e.getMessage());
            assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
        }
    }

    /**
     * The Hugging Face hub's cache: every file of {@code snapshots/<rev>/} is a link to {@code
     * ../../blobs/<hash>}. A sharded model there opens as its copy does (it was refused as linking
     * outside the model directory).
     */
    @Test
    void shardsThatAreLinksIntoTheHubCacheBlobsOpen() throws IOException {
        Path repo = tmp.resolve("hub/models--tiny");
        Path blobs = Files.createDirectories(repo.resolve("blobs"));
        Path snapshot = Files.createDirectories(repo.resolve("snapshots/0123abc"));
        int n = 0;
        try (Stream<Path> files = Files.list(sharded())) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Path blob = Files.copy(f, blobs.resolve("blob" + n++));
                Files.createSymbolicLink(snapshot.resolve(f.getFileName().toString()),
                        snapshot.relativize(blob));
            }
        }
        try (HfCheckpoint linked = HfCheckpoint.open(snapshot); HfCheckpoint copy = HfCheckpoint.open(sharded())) {
            assertEquals(copy.shardCount(), linked.shardCount());
            assertEquals(copy.names(), linked.names());
        }
    }

    @Test
    void malformedIndexIsRefused() throws IOException {
        Path dir = copyOfSharded();
        Path index = dir.resolve(HfCheckpoint.INDEX_NAME);
        Files.writeString(index, "{\"weight_map\": [1, 2]}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("weight_map") && e.getMessage().contains(index.toString()), e.getMessage());
        Files.writeString(index, "{\"weight_map\": {\"a\": 3");
        e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains(index.toString()), e.getMessage());
        Files.writeString(index, "{\"weight_map\": {\"lm_head.weight\": 7}}");
        e = assertThrows(CheckpointFormatException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
    }

    @Test
    void pickleOnlyDirectoryIsRefused() throws IOException {
        Path dir = tmp.resolve("pickled");
        Files.createDirectories(dir);
        Files.copy(Fixtures.hfTiny().resolve("llama-tiny/config.json"), dir.resolve("config.json"));
        Files.write(dir.resolve("pytorch_model.bin"), new byte[] {(byte) 0x80, 2, 'c', 'o', 's'});
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> HfCheckpoint.open(dir));
        assertFalse(e instanceof CheckpointFormatException);
        assertTrue(e.getMessage().contains("pytorch_model.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("safetensors"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> HfCheckpoint.open(dir.resolve("pytorch_model.bin")));
        Files.delete(dir.resolve("pytorch_model.bin"));
        e = assertThrows(InvalidInputException.class, () -> HfCheckpoint.open(dir));
        assertTrue(e.getMessage().contains(HfCheckpoint.SAFETENSORS_NAME), e.getMessage());
    }

    @Test
    void singleFileCanBeOpenedDirectly() {
        Path file = Fixtures.hfTiny().resolve("llama-tiny/model.safetensors");
        try (HfCheckpoint ckpt = HfCheckpoint.open(file);
                SafetensorsFile raw = SafetensorsFile.open(file)) {
            assertEquals(raw.names(), ckpt.names());
            CheckpointFormatException e =
                    assertThrows(CheckpointFormatException.class, () -> ckpt.info("no.such.weight"));
            assertTrue(e.getMessage().contains("no.such.weight"));
        }
    }

    private static void editIndex(Path dir, java.util.function.Consumer<JsonObject> edit) throws IOException {
        Path index = dir.resolve(HfCheckpoint.INDEX_NAME);
        JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
        edit.accept(root.getAsJsonObject("weight_map"));
        Files.writeString(index, root.toString());
    }
}
