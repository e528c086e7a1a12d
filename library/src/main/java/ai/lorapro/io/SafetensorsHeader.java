package ai.lorapro.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The bytes that start a {@code .safetensors} file: an 8-byte little-endian header length, then a
 * compact JSON header ({@code __metadata__} first, then each tensor's dtype, shape and data offsets
 * in the order given, with no gaps) padded with spaces to a multiple of 8 bytes.
 */
final class SafetensorsHeader {

    private SafetensorsHeader() {}

    /** A tensor's dtype and shape, as the header lists it. */
    record Layout(TensorDType dtype, long[] shape) {
        /** The tensor's size in bytes. */
        long byteLength() {
            long n = dtype.byteSize();
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /**
     * The length prefix and padded header of a file holding {@code tensors} in iteration order (the
     * header lists them by name; their offsets follow the data's order, and readers go by offsets).
     *
     * @param tensors name to layout, in the order the data follows
     * @param metadata the {@code __metadata__} strings
     */
    static byte[] encode(Map<String, Layout> tensors, Map<String, String> metadata) {
        JsonObject meta = new JsonObject();
        metadata.forEach(meta::addProperty);
        Map<String, JsonObject> byName = new TreeMap<>();
        long offset = 0;
        for (Map.Entry<String, Layout> e : tensors.entrySet()) {
            Layout t = e.getValue();
            JsonObject o = new JsonObject();
            o.addProperty("dtype", t.dtype().name());
            JsonArray shape = new JsonArray();
            for (long d : t.shape()) {
                shape.add(d);
            }
            o.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offset += t.byteLength();
            offsets.add(offset);
            o.add("data_offsets", offsets);
            byName.put(e.getKey(), o);
        }
        JsonObject header = new JsonObject();
        header.add("__metadata__", meta);
        byName.forEach(header::add);
        byte[] json = new GsonBuilder().disableHtmlEscaping().create().toJson(header)
                .getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded);
        out.put(json);
        byte[] bytes = out.array();
        Arrays.fill(bytes, 8 + json.length, bytes.length, (byte) ' ');
        return bytes;
    }
}
