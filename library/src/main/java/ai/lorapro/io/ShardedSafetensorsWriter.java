package ai.lorapro.io;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a model's tensors as Hugging Face does: one {@code model.safetensors} when they fit in one
 * shard, else {@code model-0000i-of-0000n.safetensors} shards plus {@code
 * model.safetensors.index.json} ({@link HfCheckpoint#INDEX_NAME}: {@code metadata.total_size} and the {@code weight_map}). Tensors
 * fill the shards in the order given, a new shard starting when the next tensor would push the
 * current one over the limit (a tensor larger than the limit gets a shard of its own). Each
 * tensor's bytes stream from its {@link StreamedTensor.ByteProducer} through a 1 MiB buffer, so
 * memory stays bounded whatever the model's size.
 *
 * <p>The files are written directly into {@code dir}; publish the directory atomically (e.g. with
 * {@link AtomicFiles#publishDirectory}) so that no reader sees a half-written model.
 */
public final class ShardedSafetensorsWriter {

    private static final int BUFFER_BYTES = 1 << 20;

    private ShardedSafetensorsWriter() {}

    /**
     * Writes {@code tensors} into {@code dir}.
     *
     * @param maxShardBytes the largest tensor data per shard
     * @param metadata the {@code __metadata__} strings of every shard ({@code format: pt} is added)
     * @return the names of the safetensors files written, in order
     * @throws IOException if a file cannot be written or a producer writes the wrong number of bytes
     */
    public static List<String> write(Path dir, List<StreamedTensor> tensors, long maxShardBytes,
            Map<String, String> metadata) throws IOException {
        if (maxShardBytes <= 0) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<StreamedTensor>> shards = pack(tensors, maxShardBytes);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", "pt");
        meta.putAll(metadata);
        List<String> files = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalSize = 0;
        for (int i = 0; i < shards.size(); i++) {
            String file = shards.size() == 1
                    ? HfCheckpoint.SAFETENSORS_NAME
                    : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            List<StreamedTensor> shard = new ArrayList<>(shards.get(i));
            shard.sort(TensorDType.fileOrder(StreamedTensor::dtype, StreamedTensor::name));
            writeShard(dir.resolve(file), shard, meta);
            for (StreamedTensor t : shard) {
                weightMap.put(t.name(), file);
                totalSize += t.byteLength();
            }
            files.add(file);
        }
        if (shards.size() > 1) {
            writeIndex(dir.resolve(HfCheckpoint.INDEX_NAME), weightMap, totalSize);
        }
        return files;
    }

    private static List<List<StreamedTensor>> pack(List<StreamedTensor> tensors, long maxShardBytes) {
        List<List<StreamedTensor>> shards = new ArrayList<>();
        List<StreamedTensor> current = new ArrayList<>();
        long size = 0;
        for (StreamedTensor t : tensors) {
            if (!current.isEmpty() && size + t.byteLength() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += t.byteLength();
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private static void writeShard(Path file, List<StreamedTensor> shard, Map<String, String> metadata)
            throws IOException {
        Map<String, SafetensorsHeader.Layout> layouts = new LinkedHashMap<>();
        for (StreamedTensor t : shard) {
            if (layouts.put(t.name(), new SafetensorsHeader.Layout(t.dtype(), t.shape())) != null) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' added twice");
            }
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), BUFFER_BYTES);
            out.write(SafetensorsHeader.encode(layouts, metadata));
            for (StreamedTensor t : shard) {
                CountingStream counted = new CountingStream(out);
                t.bytes().writeTo(counted);
                if (counted.count != t.byteLength()) {
                    throw new IOException(file + ": tensor '" + t.name() + "' produced " + counted.count
                            + " bytes, expected " + t.byteLength());
                }
            }
            out.flush();
            ch.force(true);
        }
    }

    private static void writeIndex(Path file, Map<String, String> weightMap, long totalSize) throws IOException {
        JsonObject index = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("total_size", totalSize);
        index.add("metadata", meta);
        JsonObject map = new JsonObject();
        weightMap.forEach(map::addProperty);
        index.add("weight_map", map);
        Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(index) + "\n",
                StandardCharsets.UTF_8);
    }

    /** Passes bytes through and counts them (closing it does not close the file). */
    private static final class CountingStream extends FilterOutputStream {
        long count;

        CountingStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
