package ai.lorapro.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/** Each malformed file, built by mutating a real fixture, is refused with a message naming it. */
class SafetensorsValidationTest {

    private static final String FIRST = "base_model.model.model.layers.0.mlp.down_proj.lora_A.weight";

    @TempDir Path tmp;

    private static byte[] fixture() throws IOException {
        return Files.readAllBytes(Fixtures.hfTiny().resolve("llama-tiny-lora-adapter/adapter_model.safetensors"));
    }

    private static long headerLength(byte[] bytes) {
        return ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static byte[] withHeaderLength(byte[] bytes, long length) {
        byte[] out = bytes.clone();
        ByteBuffer.wrap(out, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
        return out;
    }

    /** Re-serializes the header after {@code edit}, keeping the data section as it is. */
    private static byte[] withHeader(byte[] bytes, Consumer<JsonObject> edit) {
        int n = (int) headerLength(bytes);
        JsonObject header = JsonParser.parseString(new String(bytes, 8, n, StandardCharsets.UTF_8)).getAsJsonObject();
        edit.accept(header);
        return withRawHeader(bytes, header.toString());
    }

    private static byte[] withRawHeader(byte[] bytes, String json) {
        int n = (int) headerLength(bytes);
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[8 + h.length + bytes.length - 8 - n];
        ByteBuffer.wrap(out, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, h.length);
        System.arraycopy(h, 0, out, 8, h.length);
        System.arraycopy(bytes, 8 + n, out, 8 + h.length, bytes.length - 8 - n);
        return out;
    }

    private static JsonObject tensor(JsonObject header, String name) {
        return header.getAsJsonObject(name);
    }

    private static void setOffsets(JsonObject tensor, long begin, long end) {
        JsonArray a = new JsonArray();
        a.add(begin);
        a.add(end);
        tensor.add("data_offsets", a);
    }

    private CheckpointFormatException refused(byte[] bytes, String... mustMention) throws IOException {
        Path file = tmp.resolve("bad.safetensors");
        Files.write(file, bytes);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> {
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                f.names().forEach(f::floats);
            }
        });
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String s : mustMention) {
            assertTrue(e.getMessage().contains(s), "'" + s + "' not in: " + e.getMessage());
        }
        assertEquals(-1, e.getMessage().indexOf('\n'), "one-line message");
        return e;
    }

    @Test
    void theUnmutatedFixtureLoads() throws IOException {
        Path file = tmp.resolve("good.safetensors");
        Files.write(file, withHeader(fixture(), h -> {}));
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(28, f.names().size());
            assertEquals(4 * 176, f.floats(FIRST).length);
        }
    }

    /** Reading after close is the caller's mistake, not a bad file: not a CheckpointFormatException (exit 2). */
    @Test
    void readingAfterCloseIsAnIllegalStateNamingTheFile() throws IOException {
        Path file = tmp.resolve("good.safetensors");
        Files.write(file, withHeader(fixture(), h -> {}));
        SafetensorsFile f = SafetensorsFile.open(file);
        f.close();
        for (Runnable read : new Runnable[] {() -> f.floats(FIRST), () -> f.bytes(FIRST),
                () -> f.read(FIRST, 0, ByteBuffer.allocate(4)), () -> loadOnce(f, FIRST)}) {
            IllegalStateException e = assertThrows(IllegalStateException.class, read::run);
            assertEquals(file + " was closed; open it again to read its tensors", e.getMessage());
        }
        assertEquals(28, f.names().size(), "the header stays readable");
        // a tensor over 64 KiB loads through another path (a bounded buffer, not a mapping)
        Path big = tmp.resolve("big.safetensors");
        SafetensorsWriter writer = new SafetensorsWriter();
        writer.add("big", new float[200 * 100], new long[] {200, 100});
        writer.write(big);
        SafetensorsFile g = SafetensorsFile.open(big);
        g.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> loadOnce(g, "big"));
        assertEquals(big + " was closed; open it again to read its tensors", e.getMessage());
    }

    private static void loadOnce(SafetensorsFile f, String name) {
        try (NDManager manager = NDManager.newBaseManager()) {
            f.load(manager, name, DataType.FLOAT32);
        }
    }

    @Test
    void truncatedFile() throws IOException {
        byte[] b = fixture();
        refused(Arrays.copyOf(b, 5), "shorter than the 8-byte header");
        refused(Arrays.copyOf(b, 8 + (int) headerLength(b) - 10), "header length");
        // cut inside the data: the last tensor no longer fits
        refused(Arrays.copyOf(b, b.length - 100), "outside the data section", "'base_model.model.model.layers.1");
    }

    @Test
    void headerLengthBeyondTheFile() throws IOException {
        byte[] b = fixture();
        refused(withHeaderLength(b, b.length), "header length " + b.length);
    }

    @Test
    void absurdHeaderLength() throws IOException {
        byte[] b = fixture();
        refused(withHeaderLength(b, Long.MAX_VALUE), "header length");
        refused(withHeaderLength(b, -8), "header length");
        refused(withHeaderLength(b, SafetensorsFile.MAX_HEADER_BYTES + 1), "header length");
    }

    @Test
    void malformedJsonHeader() throws IOException {
        byte[] b = fixture();
        String json = new String(b, 8, (int) headerLength(b), StandardCharsets.UTF_8);
        refused(withRawHeader(b, json.replaceFirst(":", ";")), "malformed JSON");
        refused(withRawHeader(b, json.substring(0, json.length() - 1)), "malformed JSON");
        refused(withRawHeader(b, "[" + json + "]"), "not a JSON object");
        refused(withRawHeader(b, json + "{}"), "malformed JSON");
        refused(withRawHeader(b, json.replace("\"dtype\"", "dtype")), "malformed JSON");
    }

    /**
     * A name twice (Gson kept the last silently: the first entry was never checked, and other tools
     * may keep it) and bytes that are not UTF-8 (two different names could decode to one) are refused.
     */
    @Test
    void repeatedNamesAndMalformedUtf8AreRefused() throws IOException {
        byte[] b = fixture();
        String json = new String(b, 8, (int) headerLength(b), StandardCharsets.UTF_8);
        JsonObject first = JsonParser.parseString(json).getAsJsonObject().getAsJsonObject(FIRST);
        String repeated = json.substring(0, json.lastIndexOf('}')) + ",\"" + FIRST + "\":" + first + "}";
        refused(withRawHeader(b, repeated), "malformed JSON", "'" + FIRST + "' appears twice");
        refused(withRawHeader(b, json.replaceFirst("\"dtype\":\"F32\"", "\"dtype\":\"F16\",\"dtype\":\"F32\"")),
                "'dtype' appears twice");
        byte[] bad = b.clone();
        int at = new String(b, 8, (int) headerLength(b), StandardCharsets.ISO_8859_1).indexOf("lora_A") + 8;
        bad[at] = (byte) 0xFF;
        refused(bad, "not valid UTF-8");
    }

    @Test
    void unknownDtype() throws IOException {
        refused(withHeader(fixture(), h -> tensor(h, FIRST).addProperty("dtype", "F8_E9M9")), "F8_E9M9", FIRST);
        refused(withHeader(fixture(), h -> tensor(h, FIRST).addProperty("dtype", 4)), "dtype", FIRST);
    }

    @Test
    void shapeDisagreesWithByteRange() throws IOException {
        refused(withHeader(fixture(), h -> {
            JsonArray shape = new JsonArray();
            shape.add(4);
            shape.add(175);
            tensor(h, FIRST).add("shape", shape);
        }), FIRST, "does not match");
        refused(withHeader(fixture(), h -> tensor(h, FIRST).addProperty("dtype", "F16")), FIRST, "does not match");
        refused(withHeader(fixture(), h -> {
            JsonArray shape = new JsonArray();
            shape.add(1L << 40);
            shape.add(1L << 40);
            tensor(h, FIRST).add("shape", shape);
        }), FIRST, "overflows");
        refused(withHeader(fixture(), h -> {
            JsonArray shape = new JsonArray();
            shape.add(-4);
            shape.add(-176);
            tensor(h, FIRST).add("shape", shape);
        }), FIRST, "negative");
    }

    @Test
    void overlappingOffsets() throws IOException {
        refused(withHeader(fixture(), h -> {
            JsonObject first = tensor(h, FIRST);
            long begin = first.getAsJsonArray("data_offsets").get(0).getAsLong();
            long end = first.getAsJsonArray("data_offsets").get(1).getAsLong();
            // move the tensor that follows onto the first one's bytes, same length
            for (String name : h.keySet()) {
                JsonObject t = name.equals("__metadata__") || name.equals(FIRST) ? null : tensor(h, name);
                if (t != null && t.getAsJsonArray("data_offsets").get(0).getAsLong() == end) {
                    long len = t.getAsJsonArray("data_offsets").get(1).getAsLong() - end;
                    setOffsets(t, begin + 8, begin + 8 + len);
                    return;
                }
            }
        }), "overlaps");
    }

    @Test
    void outOfRangeOffsets() throws IOException {
        long dataLength = fixture().length - 8 - headerLength(fixture());
        refused(withHeader(fixture(), h -> setOffsets(tensor(h, FIRST), dataLength, dataLength + 2816)),
                FIRST, "outside the data section");
        refused(withHeader(fixture(), h -> setOffsets(tensor(h, FIRST), -2816, 0)), FIRST, "outside");
        refused(withHeader(fixture(), h -> setOffsets(tensor(h, FIRST), 2816, 0)), FIRST, "outside");
        refused(withHeader(fixture(), h -> {
            JsonArray a = new JsonArray();
            a.add(0);
            tensor(h, FIRST).add("data_offsets", a);
        }), FIRST, "data_offsets");
        refused(withHeader(fixture(), h -> {
            JsonArray a = new JsonArray();
            a.add(0);
            a.add(new java.math.BigDecimal("1e999999999"));
            tensor(h, FIRST).add("data_offsets", a);
        }), FIRST, "not a 64-bit integer");
        refused(withHeader(fixture(), h -> {
            JsonArray a = new JsonArray();
            a.add(0.5);
            a.add(2816);
            tensor(h, FIRST).add("data_offsets", a);
        }), FIRST, "not a 64-bit integer");
    }

    @Test
    void badMetadata() throws IOException {
        refused(withHeader(fixture(), h -> h.getAsJsonObject("__metadata__").addProperty("step", 3)), "__metadata__.step");
        refused(withHeader(fixture(), h -> h.addProperty("__metadata__", "pt")), "__metadata__");
    }
}
