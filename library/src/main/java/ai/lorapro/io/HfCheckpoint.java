package ai.lorapro.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face model directory, seen as one {@link TensorSource}: either a single
 * {@code model.safetensors} or shards listed by {@code model.safetensors.index.json}.
 *
 * <p>Everything is validated when the checkpoint is opened: the index is well-formed, every shard
 * it names exists inside the directory and has a valid header, and every tensor of the weight map
 * is in its shard. Python pickle checkpoints ({@code pytorch_model.bin}, {@code *.pt}, {@code
 * *.pth}) are refused without being read, because unpickling can run arbitrary code.
 */
public final class HfCheckpoint implements TensorSource {

    /** The single-file weights name. */
    public static final String SAFETENSORS_NAME = "model.safetensors";
    /** The index of sharded weights. */
    public static final String INDEX_NAME = "model.safetensors.index.json";

    private final Path directory;
    /** Tensor name to the shard that holds it, in sorted name order. */
    private final Map<String, SafetensorsFile> byTensor;
    private final List<SafetensorsFile> shards;

    private HfCheckpoint(Path directory, Map<String, SafetensorsFile> byTensor, List<SafetensorsFile> shards) {
        this.directory = directory;
        this.byTensor = Collections.unmodifiableMap(byTensor);
        this.shards = Collections.unmodifiableList(shards);
    }

    /**
     * Opens the weights of a model directory (or a single {@code .safetensors} file).
     *
     * @throws CheckpointFormatException if the index or a shard is malformed, missing or
     *     inconsistent
     * @throws InvalidInputException if the directory holds only pickle weights, or no weights
     */
    public static HfCheckpoint open(Path path) {
        if (Files.isRegularFile(path)) {
            if (isPickleName(path.getFileName().toString())) {
                throw pickleRefused(path, List.of(path.getFileName().toString()));
            }
            SafetensorsFile file = SafetensorsFile.open(path);
            return single(path.toAbsolutePath().getParent(), file);
        }
        if (!Files.isDirectory(path)) {
            throw new InvalidInputException(path + ": no such model directory");
        }
        Path index = path.resolve(INDEX_NAME);
        Path single = path.resolve(SAFETENSORS_NAME);
        // transformers prefers the single file when both exist
        if (Files.isRegularFile(single)) {
            return single(path, SafetensorsFile.open(single));
        }
        if (Files.isRegularFile(index)) {
            return sharded(path, index);
        }
        List<String> pickles = pickleFiles(path);
        if (!pickles.isEmpty()) {
            throw pickleRefused(path, pickles);
        }
        throw new InvalidInputException(
                path + ": no " + SAFETENSORS_NAME + " or " + INDEX_NAME + " in the model directory");
    }

    private static HfCheckpoint single(Path dir, SafetensorsFile file) {
        Map<String, SafetensorsFile> byTensor = new TreeMap<>();
        for (String name : file.names()) {
            byTensor.put(name, file);
        }
        return new HfCheckpoint(dir, byTensor, List.of(file));
    }

    private static HfCheckpoint sharded(Path dir, Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafetensorsFile> openShards = new LinkedHashMap<>();
        try {
            Map<String, SafetensorsFile> byTensor = new TreeMap<>();
            Path realDir = dir.toRealPath();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                String shardName = e.getValue();
                SafetensorsFile shard = openShards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(resolveShard(realDir, index, e.getKey(), shardName));
                    openShards.put(shardName, shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new CheckpointFormatException(
                            shard.path()
                                    + ": tensor '"
                                    + e.getKey()
                                    + "' listed in "
                                    + index
                                    + " is not in the shard");
                }
                byTensor.put(e.getKey(), shard);
            }
            return new HfCheckpoint(dir, byTensor, new ArrayList<>(openShards.values()));
        } catch (IOException e) {
            openShards.values().forEach(SafetensorsFile::close);
            throw new CheckpointFormatException(dir + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            openShards.values().forEach(SafetensorsFile::close);
            throw e;
        }
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonObject root = JsonFiles.readObject(index);
        JsonElement map = root.get("weight_map");
        if (map == null || !map.isJsonObject()) {
            throw new CheckpointFormatException(index + ": field 'weight_map' is missing or not an object");
        }
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : map.getAsJsonObject().entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString() || v.getAsString().isEmpty()) {
                throw new CheckpointFormatException(
                        index + ": weight_map entry '" + e.getKey() + "' is not a shard file name");
            }
            out.put(e.getKey(), v.getAsString());
        }
        if (out.isEmpty()) {
            throw new CheckpointFormatException(index + ": weight_map is empty");
        }
        return out;
    }

    /**
     * Resolves a shard inside the model directory; names that lead outside it are refused. The
     * shard itself may be a symbolic link to a file elsewhere, as in the Hugging Face hub's cache
     * ({@code snapshots/<rev>/model-00001-of-00002.safetensors -> ../../blobs/<hash>}): the user put
     * the link there, and a link is only read.
     */
    private static Path resolveShard(Path realDir, Path index, String tensor, String shardName) {
        Path relative = realDir.getFileSystem().getPath(shardName);
        Path resolved = realDir.resolve(relative).normalize();
        if (relative.isAbsolute() || !resolved.startsWith(realDir) || resolved.equals(realDir)) {
            throw new CheckpointFormatException(
                    index + ": shard '" + shardName + "' of tensor '" + tensor + "' is outside the model directory");
        }
        if (!Files.isRegularFile(resolved)) {
            throw new CheckpointFormatException(
                    index + ": shard '" + shardName + "' (holding tensor '" + tensor + "') does not exist");
        }
        return resolved;
    }

    private static InvalidInputException pickleRefused(Path path, List<String> pickles) {
        return new InvalidInputException(
                path
                        + " holds only PyTorch pickle weights "
                        + pickles
                        + ", which are never read because unpickling can run code: convert them to"
                        + " safetensors (e.g. model.save_pretrained(dir, safe_serialization=True))");
    }

    private static boolean isPickleName(String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        return name.endsWith(".bin") || name.endsWith(".pt") || name.endsWith(".pth")
                || name.equals("pytorch_model.bin.index.json");
    }

    private static List<String> pickleFiles(Path dir) {
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (isPickleName(f.getFileName().toString())) {
                    out.add(f.getFileName().toString());
                }
            }
        } catch (IOException e) {
            throw new InvalidInputException(dir + ": cannot list the model directory: " + e.getMessage(), e);
        }
        Collections.sort(out);
        return out;
    }

    /** The model directory. */
    public Path directory() {
        return directory;
    }

    /** The number of weight files (1 unless sharded). */
    public int shardCount() {
        return shards.size();
    }

    /** The tensor names, sorted. */
    @Override
    public Set<String> names() {
        return byTensor.keySet();
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    /**
     * Loads a tensor onto {@code manager}'s device: floating-point weights become {@code floatType}
     * (FLOAT32 on CPU; FLOAT16 or FLOAT32 for frozen weights on GPU), BF16 widened on the host.
     */
    @Override
    public NDArray load(NDManager manager, String name, DataType floatType) {
        return shardOf(name).load(manager, name, floatType);
    }

    /** A floating-point tensor's values as float32 on the host. */
    public float[] floats(String name) {
        return shardOf(name).floats(name);
    }

    /**
     * Reads {@code into.remaining()} bytes of a tensor's data from {@code offset} bytes into it
     * (see {@link SafetensorsFile#read}).
     */
    public void read(String name, long offset, ByteBuffer into) {
        shardOf(name).read(name, offset, into);
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile shard = byTensor.get(name);
        if (shard == null) {
            throw new CheckpointFormatException(directory + ": tensor '" + name + "' is not in the checkpoint");
        }
        return shard;
    }

    /** Counts and sizes of the checkpoint's tensors, e.g. for {@code lorapro info --model DIR}. */
    public Summary summary() {
        long parameters = 0;
        long bytes = 0;
        Map<TensorDType, Long> perDtype = new EnumMap<>(TensorDType.class);
        for (String name : byTensor.keySet()) {
            TensorInfo info = info(name);
            parameters += info.elementCount();
            bytes += info.byteLength();
            perDtype.merge(info.dtype(), info.elementCount(), Long::sum);
        }
        return new Summary(byTensor.size(), parameters, bytes, shards.size(), perDtype);
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (SafetensorsFile shard : shards) {
            try {
                shard.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /** Tensor count, parameter count, bytes and dtypes of a checkpoint. */
    public static final class Summary {
        private final int tensorCount;
        private final long parameterCount;
        private final long bytes;
        private final int shardCount;
        private final Map<TensorDType, Long> parametersByDtype;

        Summary(int tensorCount, long parameterCount, long bytes, int shardCount, Map<TensorDType, Long> byDtype) {
            this.tensorCount = tensorCount;
            this.parameterCount = parameterCount;
            this.bytes = bytes;
            this.shardCount = shardCount;
            this.parametersByDtype = Collections.unmodifiableMap(new EnumMap<>(byDtype));
        }

        /** The number of tensors. */
        public int tensorCount() {
            return tensorCount;
        }

        /** The total number of elements over all tensors. */
        public long parameterCount() {
            return parameterCount;
        }

        /** The total size of the tensor data in bytes. */
        public long bytes() {
            return bytes;
        }

        /** The number of weight files. */
        public int shardCount() {
            return shardCount;
        }

        /** The number of elements stored in each dtype. */
        public Map<TensorDType, Long> parametersByDtype() {
            return parametersByDtype;
        }

        @Override
        public String toString() {
            return tensorCount
                    + " tensors, "
                    + parameterCount
                    + " parameters, "
                    + bytes
                    + " bytes in "
                    + shardCount
                    + (shardCount == 1 ? " file" : " shards")
                    + ", dtypes "
                    + parametersByDtype;
        }
    }
}
