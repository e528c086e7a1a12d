package ai.lorapro.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A read-only, memory-mapped {@code .safetensors} file.
 *
 * <p>The whole header is validated when the file is opened, before any tensor is read: header
 * length within the file and under {@link #MAX_HEADER_BYTES}, well-formed JSON, known dtypes,
 * shape x element size equal to each byte range, ranges inside the data section and not
 * overlapping. Any violation is a {@link CheckpointFormatException} naming the file and tensor.
 * Tensors are mapped one at a time, so files of any size can be read.
 */
public final class SafetensorsFile implements TensorSource {

    /** Upper bound on the JSON header (the reference implementation uses 100 MB). */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Tensors up to this size are read into the heap instead of mapped. */
    private static final long SMALL_TENSOR_BYTES = 1L << 16;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, FileChannel channel) throws IOException {
        this.path = path;
        this.channel = channel;
        long fileSize = channel.size();
        if (fileSize < 8) {
            throw error("file is " + fileSize + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(lengthBytes, 0);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > fileSize - 8) {
            throw error(
                    "header length "
                            + headerLength
                            + " is invalid for a file of "
                            + fileSize
                            + " bytes (max header "
                            + MAX_HEADER_BYTES
                            + ")");
        }
        ByteBuffer header = ByteBuffer.allocate((int) headerLength);
        readFully(header, 8);
        this.dataStart = 8 + headerLength;
        String json;
        try {
            // strictly: a malformed byte would become U+FFFD, and two different names one
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(header.flip()).toString();
        } catch (CharacterCodingException e) {
            throw error("header is not valid UTF-8: " + e);
        }
        Map<String, String> meta = new LinkedHashMap<>();
        this.tensors = Collections.unmodifiableMap(parseHeader(json, fileSize - dataStart, meta));
        this.metadata = Collections.unmodifiableMap(meta);
    }

    /** Opens and validates a safetensors file. */
    public static SafetensorsFile open(Path path) {
        FileChannel ch = null;
        RegularFiles.requireRegularIfPresent(path);
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
            return new SafetensorsFile(path, ch);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new CheckpointFormatException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing more to do: the open already failed
            }
        }
    }

    private void readFully(ByteBuffer buffer, long position) throws IOException {
        long pos = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, pos);
            if (n < 0) {
                throw error("unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    private Map<String, TensorInfo> parseHeader(String json, long dataLength, Map<String, String> meta) {
        JsonObject root;
        try (JsonReader reader = new JsonReader(new StringReader(json))) {
            // strict, so that only what the reference implementation accepts is read
            reader.setStrictness(Strictness.STRICT);
            JsonElement parsed = JsonFiles.readTreeWithoutDuplicates(reader);
            if (!parsed.isJsonObject()) {
                throw error("header is not a JSON object");
            }
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw error("malformed JSON header: trailing data after the object");
            }
            root = parsed.getAsJsonObject();
        } catch (JsonParseException | IllegalStateException | IOException e) {
            throw error("malformed JSON header: " + JsonFiles.firstLine(e.getMessage()));
        }
        Map<String, TensorInfo> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : root.entrySet()) {
            String name = e.getKey();
            if ("__metadata__".equals(name)) {
                parseMetadata(e.getValue(), meta);
                continue;
            }
            out.put(name, parseTensor(name, e.getValue(), dataLength));
        }
        checkNoOverlap(out.values());
        return out;
    }

    private void parseMetadata(JsonElement value, Map<String, String> meta) {
        if (!value.isJsonObject()) {
            throw error("__metadata__ is not a JSON object");
        }
        for (Map.Entry<String, JsonElement> m : value.getAsJsonObject().entrySet()) {
            if (!m.getValue().isJsonPrimitive() || !m.getValue().getAsJsonPrimitive().isString()) {
                throw error("__metadata__." + m.getKey() + " is not a string");
            }
            meta.put(m.getKey(), m.getValue().getAsString());
        }
    }

    private TensorInfo parseTensor(String name, JsonElement value, long dataLength) {
        if (!value.isJsonObject()) {
            throw error(name, "entry is not a JSON object");
        }
        JsonObject o = value.getAsJsonObject();
        JsonElement dt = o.get("dtype");
        if (dt == null || !dt.isJsonPrimitive() || !dt.getAsJsonPrimitive().isString()) {
            throw error(name, "missing dtype");
        }
        TensorDType dtype = TensorDType.fromHeader(dt.getAsString());
        if (dtype == null) {
            throw error(name, "unknown dtype " + abbreviate(dt.getAsString()));
        }
        long[] shape = longArray(name, o.get("shape"), "shape", -1);
        long[] offsets = longArray(name, o.get("data_offsets"), "data_offsets", 2);
        long elements = 1;
        for (long d : shape) {
            if (d < 0) {
                throw error(name, "negative dimension in shape");
            }
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException ex) {
                throw error(name, "shape overflows");
            }
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength) {
            throw error(
                    name,
                    "data_offsets [" + begin + ", " + end + "] outside the data section of " + dataLength + " bytes");
        }
        long expected;
        try {
            expected = Math.multiplyExact(elements, dtype.byteSize());
        } catch (ArithmeticException ex) {
            throw error(name, "shape overflows");
        }
        if (end - begin != expected) {
            throw error(
                    name,
                    "byte range of "
                            + (end - begin)
                            + " does not match shape x dtype size = "
                            + expected);
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private long[] longArray(String tensor, JsonElement value, String field, int requiredLength) {
        if (value == null || !value.isJsonArray()) {
            throw error(tensor, "missing or non-array " + field);
        }
        JsonArray array = value.getAsJsonArray();
        if (requiredLength >= 0 && array.size() != requiredLength) {
            throw error(tensor, field + " must have " + requiredLength + " entries");
        }
        if (array.size() > 64) {
            throw error(tensor, field + " has more than 64 dimensions");
        }
        long[] arr = new long[array.size()];
        for (int i = 0; i < arr.length; i++) {
            JsonElement el = array.get(i);
            if (!el.isJsonPrimitive() || !el.getAsJsonPrimitive().isNumber()) {
                throw error(tensor, field + " holds a non-number");
            }
            // parse the literal: Gson's getAsLong on a number like 1e999999999 would build a
            // BigDecimal of that size
            String literal = el.getAsString();
            try {
                arr[i] = Long.parseLong(literal);
            } catch (NumberFormatException e) {
                throw error(tensor, field + " holds " + abbreviate(literal) + ", not a 64-bit integer");
            }
        }
        return arr;
    }

    private void checkNoOverlap(java.util.Collection<TensorInfo> infos) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo prev = null;
        for (TensorInfo t : sorted) {
            if (t.byteLength() == 0) {
                continue;
            }
            if (prev != null && t.begin() < prev.end()) {
                throw error(t.name(), "byte range overlaps tensor '" + prev.name() + "'");
            }
            prev = t;
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 32 ? s : s.substring(0, 32) + "...";
    }

    private CheckpointFormatException error(String message) {
        return new CheckpointFormatException(path + ": " + message);
    }

    private CheckpointFormatException error(String tensor, String message) {
        return new CheckpointFormatException(path + ": tensor '" + tensor + "': " + message);
    }

    /** The file's path. */
    public Path path() {
        return path;
    }

    /** The tensors, by name, in header order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The string metadata of {@code __metadata__}. */
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public java.util.Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw error(name, "not found");
        }
        return info;
    }

    /** The raw little-endian bytes of a tensor, mapped read-only. */
    public ByteBuffer bytes(String name) {
        requireOpen();
        TensorInfo info = info(name);
        if (info.byteLength() > Integer.MAX_VALUE) {
            throw error(name, "a single tensor over 2 GiB is not supported");
        }
        try {
            if (info.byteLength() <= SMALL_TENSOR_BYTES) {
                // a mapping costs a system call and lingers until GC; small tensors are cheaper read
                ByteBuffer small = ByteBuffer.allocate((int) info.byteLength());
                readFully(small, dataStart + info.begin());
                return small.flip().order(ByteOrder.LITTLE_ENDIAN);
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.begin(), info.byteLength())
                    .order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new CheckpointFormatException(path + ": tensor '" + name + "': cannot map: " + e.getMessage(), e);
        }
    }

    /**
     * Reads {@code into.remaining()} bytes of a tensor's data, from {@code offset} bytes into it,
     * through the file channel: nothing is mapped, so a caller streaming a large tensor holds only
     * its buffer.
     *
     * @throws IllegalArgumentException if the range is not inside the tensor
     * @throws CheckpointFormatException if the file cannot be read
     */
    public void read(String name, long offset, ByteBuffer into) {
        requireOpen();
        TensorInfo info = info(name);
        if (offset < 0 || offset + into.remaining() > info.byteLength()) {
            throw new IllegalArgumentException("tensor '" + name + "': bytes [" + offset + ", "
                    + (offset + into.remaining()) + ") are outside its " + info.byteLength());
        }
        try {
            readFully(into, dataStart + info.begin() + offset);
        } catch (IOException e) {
            throw new CheckpointFormatException(path + ": tensor '" + name + "': cannot read: " + e.getMessage(), e);
        }
    }

    /** A floating-point tensor's values widened to float32 (F16 and BF16 converted on the host). */
    public float[] floats(String name) {
        TensorInfo info = info(name);
        ByteBuffer b = bytes(name);
        int n = (int) info.elementCount();
        if (!info.dtype().isFloating()) {
            throw error(name, "dtype " + info.dtype() + " is not floating point");
        }
        float[] out = new float[n];
        FloatChunks.decode(b, info.dtype(), out, n);
        return out;
    }

    /**
     * Loads a tensor onto {@code manager}'s device. Floating-point tensors become {@code
     * floatType} (FLOAT32 or FLOAT16); BF16 is widened on the host first because DJL cannot hold
     * it. Integer tensors keep their type.
     */
    @Override
    public NDArray load(NDManager manager, String name, DataType floatType) {
        requireOpen();
        TensorSource.requireFloatType(floatType);
        TensorInfo info = info(name);
        if (info.byteLength() > SMALL_TENSOR_BYTES) {
            // large tensors through a bounded buffer: no mapping stays resident, no heap copy
            DataType target = info.dtype().isFloating() ? floatType : info.dtype().djlType();
            try {
                return new ChunkedTensorReader(this::readFully, path.toString()).load(manager, info, dataStart, target);
            } catch (IOException e) {
                throw new CheckpointFormatException(path + ": tensor '" + name + "': cannot read: " + e.getMessage(), e);
            }
        }
        if (!info.dtype().isFloating()) {
            return ownedArray(manager, bytes(name), info);
        }
        boolean toFloat16 = floatType == DataType.FLOAT16 && info.dtype() != TensorDType.F16;
        if (info.dtype() == TensorDType.BF16 || info.dtype() == TensorDType.F64 || toFloat16) {
            float[] values = floats(name);
            if (toFloat16) {
                // PyTorch's conversion turns what float16 cannot hold into infinity, without a word
                FloatChunks.requireFits(path + ": tensor '" + name + "'", values, values.length, 0, TensorDType.F16);
            }
            NDArray f32 = manager.create(FloatBuffer.wrap(values), info.shape());
            return floatType == DataType.FLOAT32 ? f32 : convert(f32, floatType);
        }
        NDArray raw = ownedArray(manager, bytes(name), info);
        return raw.getDataType() == floatType ? raw : convert(raw, floatType);
    }

    /**
     * A direct buffer becomes a tensor without a copy (torch.from_blob), so an array made from
     * the read-only file mapping would crash the JVM on the first in-place update (LoRA merge,
     * optimizer step); copy it into memory the tensor owns.
     */
    private static NDArray ownedArray(NDManager manager, ByteBuffer bytes, TensorInfo info) {
        NDArray array = manager.create(bytes, info.shape(), info.dtype().djlType());
        if (!bytes.isDirect()) {
            return array; // DJL already copied a heap buffer into memory of its own
        }
        NDArray owned = array.duplicate();
        array.close();
        return owned;
    }

    /**
     * Loads a tensor in the type it is stored in, bit for bit (BF16, which DJL cannot hold, widened
     * to float32): for state that must come back exactly, such as float64 optimizer moments.
     */
    public NDArray loadStored(NDManager manager, String name) {
        requireOpen();
        TensorInfo info = info(name);
        if (info.dtype() == TensorDType.BF16) {
            return load(manager, name, DataType.FLOAT32);
        }
        if (info.byteLength() > SMALL_TENSOR_BYTES) {
            try {
                return new ChunkedTensorReader(this::readFully, path.toString())
                        .load(manager, info, dataStart, info.dtype().djlType());
            } catch (IOException e) {
                throw new CheckpointFormatException(path + ": tensor '" + name + "': cannot read: " + e.getMessage(), e);
            }
        }
        return ownedArray(manager, bytes(name), info);
    }

    /** Loads a tensor as float32. */
    public NDArray load(NDManager manager, String name) {
        return load(manager, name, DataType.FLOAT32);
    }

    private static NDArray convert(NDArray array, DataType type) {
        NDArray converted = array.toType(type, true);
        array.close();
        return converted;
    }

    /** Refuses reading data after {@link #close()}: a programming error, not a bad file. */
    private void requireOpen() {
        if (!channel.isOpen()) {
            throw new IllegalStateException(path + " was closed; open it again to read its tensors");
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new CheckpointFormatException(path + ": cannot close: " + e.getMessage(), e);
        }
    }
}
