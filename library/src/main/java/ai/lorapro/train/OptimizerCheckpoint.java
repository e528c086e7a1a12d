package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.io.TensorDType;
import ai.lorapro.optim.OptimizerState;
import ai.lorapro.optim.ResumableOptimizer;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * An optimizer's state in two files, as every {@link TrainingCheckpoint} holds it: {@value
 * #TENSORS_FILE} (its arrays, streamed from the optimizer's own one at a time, so that saving never
 * holds a second copy of the state; bf16 moments written as float32) and {@value #STEPS_FILE} (its
 * step counts, and DJL's update counters for a learning-rate {@code Tracker}). For a program with a
 * loop of its own, e.g. around a DJL {@code Trainer}, that stops and later continues exactly where
 * it stopped:
 *
 * <pre>{@code
 * OptimizerCheckpoint.save(optimizer, dir);                  // after step 100 (and the adapter: PeftAdapter.save)
 * // later, in a new process: the model initialised (trainer.initialize), the adapter loaded, a new
 * // optimizer built the same way
 * OptimizerCheckpoint.restore(dir, optimizer, manager, 100);
 * }</pre>
 *
 * <p>The files do not record the step: keep it beside them. The adapter and the optimizer are saved
 * by two calls; to replace a whole earlier checkpoint at once, write both into a directory published
 * whole ({@link ai.lorapro.io.AtomicFiles#publishDirectory}), as the engine does.
 */
public final class OptimizerCheckpoint {

    /** The optimizer's state arrays. */
    public static final String TENSORS_FILE = "optimizer.safetensors";
    /** The optimizer's step counts, by state name. */
    public static final String STEPS_FILE = "optimizer_steps.json";

    /** Metadata of the tensors file: the optimizer's {@link ResumableOptimizer#stateKind}. */
    private static final String KIND_KEY = "lorapro.optimizer";
    /** Metadata of the tensors file: the SHA-256 of the step counts saved with it (as name=count lines). */
    private static final String STEPS_HASH_KEY = "lorapro.optimizer_steps_sha256";
    /** Metadata of the tensors file: the optimizer's LoRA pairs, by name, one per line in name order. */
    private static final String PAIRS_KEY = "lorapro.optimizer_pairs";
    /** The suffix of an Adam second moment's name: the mean of squares, never negative. */
    private static final String SECOND_MOMENT_SUFFIX = ".exp_avg_sq";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private OptimizerCheckpoint() {}

    /**
     * Writes the optimizer's state into {@code dir} (made if missing). Both files are written in
     * full before either replaces an earlier pair.
     *
     * @param optimizer the optimizer, after its last update
     * @param dir the directory of the two files
     * @throws InvalidInputException when {@code dir} is a file or lies under one
     * @throws ai.lorapro.LoraProException when they cannot be written
     * @throws IllegalStateException when the optimizer is closed, or keeps state for a parameter
     *     without a stable name (register it with {@code addLoraLayers} or {@code nameParameter})
     */
    public static void save(ResumableOptimizer optimizer, Path dir) {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(dir, "dir");
        requireDirectoryPath(dir);
        OptimizerState snapshot = optimizer.viewState();
        SafetensorsWriter tensors = tensorsOf(optimizer, snapshot);
        byte[] stepsFile = stepsJson(snapshot.getSteps()).getBytes(StandardCharsets.UTF_8);
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(dir.resolve(TENSORS_FILE), tensors::writeTo);
        files.put(dir.resolve(STEPS_FILE), out -> out.write(stepsFile));
        AtomicFiles.writeAll(files);
    }

    /** Refuses a {@code dir} that is, or lies under, an existing file: save writes two files into a directory. */
    private static void requireDirectoryPath(Path dir) {
        for (Path p = dir.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p)) {
                if (!Files.isDirectory(p)) {
                    throw new InvalidInputException((p.equals(dir.toAbsolutePath()) ? dir.toString() : dir + ": " + p)
                            + " is not a directory (save writes " + TENSORS_FILE + " and " + STEPS_FILE
                            + " into a directory)");
                }
                return;
            }
        }
    }

    /** Writes both files into {@code dir}, a directory being published whole ({@link TrainingCheckpoint}). */
    static void writeInto(ResumableOptimizer optimizer, Path dir) throws IOException {
        OptimizerState snapshot = optimizer.viewState();
        tensorsOf(optimizer, snapshot).write(dir.resolve(TENSORS_FILE));
        Files.writeString(dir.resolve(STEPS_FILE), stepsJson(snapshot.getSteps()), StandardCharsets.UTF_8);
    }

    /**
     * Replaces the optimizer's state with the one saved in {@code dir}. Everything is checked before
     * anything is replaced: that the state is of this optimizer's kind ({@link
     * ResumableOptimizer#stateKind}), for the same LoRA pairs, and the two files were saved together
     * (all three recorded in the tensors file's metadata; files without them, saved before, are taken
     * as they are), the step counts (whole numbers, each named once), every array finite, second
     * moments not negative, and every array one this optimizer keeps, with its shape once the
     * parameters hold arrays. Call it
     * after the model is initialised ({@code trainer.initialize}): before, shapes are only checked at
     * the first update, which then names no file.
     *
     * @param dir the directory of the two files
     * @param optimizer a new optimizer over the same named parameters and LoRA pairs
     * @param manager where the arrays are read to (freed once handed over)
     * @param globalStep the training steps the state was saved after: a step count beyond it is refused
     * @throws IllegalArgumentException if {@code globalStep} is negative
     * @throws CheckpointFormatException naming the file (and the tensor) when a file is missing,
     *     malformed, or holds state this optimizer does not keep
     */
    public static void restore(Path dir, ResumableOptimizer optimizer, NDManager manager, long globalStep) {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(manager, "manager");
        if (globalStep < 0) {
            throw new IllegalArgumentException("globalStep must be >= 0, got " + globalStep);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CheckpointFormatException(dir + ": not a directory (restore takes the directory of "
                    + TENSORS_FILE + " and " + STEPS_FILE + ")");
        }
        Path tensorsFile = dir.resolve(TENSORS_FILE);
        Path stepsFile = dir.resolve(STEPS_FILE);
        ResumeLimits.requireFile(tensorsFile);
        ResumeLimits.requireFile(stepsFile);
        byte[] stepsBytes;
        try {
            stepsBytes = Files.readAllBytes(stepsFile);
        } catch (IOException e) {
            throw new CheckpointFormatException(stepsFile + ": cannot be read: " + e.getMessage(), e);
        }
        Map<String, Integer> steps = readSteps(stepsFile, stepsBytes);
        ResumeLimits.requireOptimizerSteps(stepsFile, steps, globalStep);
        try (SafetensorsFile source = SafetensorsFile.open(tensorsFile); NDManager temp = manager.newSubManager()) {
            requireSameSave(source.metadata(), optimizer, tensorsFile, stepsFile, steps);
            // one tensor at a time, each checked and handed over to the optimizer: never two copies of the state
            // float64 state (of float64 parameters) as it was saved: narrowed, the resume was not exact
            optimizer.importState(steps, source.names(), name -> requireValid(tensorsFile, name,
                    source.info(name).dtype() == TensorDType.F64 ? source.loadStored(temp, name)
                            : source.load(temp, name, DataType.FLOAT32)));
        } catch (CheckpointFormatException e) {
            throw e;
        } catch (InvalidInputException e) {
            // the optimizer names the tensor or step count; the files are ours to name
            throw new CheckpointFormatException(tensorsFile + " with " + stepsFile.getFileName() + ": "
                    + e.getMessage(), e);
        }
    }

    /** {@code tensor} when it is finite and, for a second moment ({@code .exp_avg_sq}), not negative. */
    private static NDArray requireValid(Path file, String name, NDArray tensor) {
        ResumeLimits.requireFinite(file, name, tensor);
        if (name.endsWith(SECOND_MOMENT_SUFFIX) && tensor.size() > 0) {
            try (NDArray min = tensor.min(); NDArray min64 = min.toType(DataType.FLOAT64, false)) {
                if (min64.getDouble() < 0) {
                    throw new CheckpointFormatException(file + ": tensor '" + name + "' holds a negative second"
                            + " moment (" + (float) min64.getDouble() + ")");
                }
            }
        }
        return tensor;
    }

    /**
     * The step counts of {@code stepsFile}: one JSON object of whole numbers that an int holds, each
     * name once (a lenient reading would take 2.9 as 2 and 2^32 + 3 as 3, and break the exact resume).
     */
    private static Map<String, Integer> readSteps(Path stepsFile, byte[] bytes) {
        Map<String, Integer> steps = new LinkedHashMap<>();
        try (JsonReader reader = new JsonReader(new StringReader(new String(bytes, StandardCharsets.UTF_8)))) {
            reader.beginObject();
            while (reader.hasNext()) {
                String name = reader.nextName();
                if (reader.peek() != JsonToken.NUMBER) {
                    throw new CheckpointFormatException(stepsFile + ": the step count of '" + name + "' is not a number");
                }
                String value = reader.nextString();
                int count;
                try {
                    count = new BigDecimal(value).intValueExact();
                } catch (ArithmeticException | NumberFormatException e) {
                    throw new CheckpointFormatException(stepsFile + ": the step count of '" + name + "' is " + value
                            + ", not a whole number of at most " + Integer.MAX_VALUE);
                }
                if (steps.put(name, count) != null) {
                    throw new CheckpointFormatException(stepsFile + ": '" + name + "' is named twice");
                }
            }
            reader.endObject();
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new CheckpointFormatException(stepsFile + ": text after the step counts");
            }
        } catch (IOException | IllegalStateException e) {
            throw new CheckpointFormatException(stepsFile + ": malformed optimizer step counts");
        }
        return steps;
    }

    /**
     * Refuses the state of another kind of optimizer, and a tensors file saved with other step
     * counts than {@code steps} (a pair torn by an interrupted save), where the metadata says.
     */
    private static void requireSameSave(Map<String, String> metadata, ResumableOptimizer optimizer, Path tensorsFile,
            Path stepsFile, Map<String, Integer> steps) {
        String kind = metadata.get(KIND_KEY);
        if (kind != null && !kind.equals(optimizer.stateKind())) {
            throw new CheckpointFormatException(tensorsFile + ": the state of a " + kind + ", not of this "
                    + optimizer.stateKind());
        }
        String hash = metadata.get(STEPS_HASH_KEY);
        if (hash != null && !hash.equals(stepsDigest(steps))) {
            throw new CheckpointFormatException(tensorsFile + " and " + stepsFile.getFileName() + " were not saved"
                    + " together (an interrupted save, or step counts edited?): restore a pair that one save wrote");
        }
        String pairs = metadata.get(PAIRS_KEY);
        if (pairs != null) {
            requireSamePairs(tensorsFile, pairs.isEmpty() ? List.of() : List.of(pairs.split("\n")), optimizer);
        }
    }

    /**
     * Refuses restoring into an optimizer whose LoRA pairs are not those the state was saved for: a
     * pair the file has no state for would otherwise restart at t = 0 without a word (its moments
     * and its update count), and a pair the optimizer lacks is state nobody takes.
     */
    private static void requireSamePairs(Path tensorsFile, List<String> saved, ResumableOptimizer optimizer) {
        Set<String> savedSet = new TreeSet<>(saved);
        Set<String> mine = new TreeSet<>(optimizer.getPairs().keySet());
        if (savedSet.equals(mine)) {
            return;
        }
        Set<String> notSaved = new TreeSet<>(mine);
        notSaved.removeAll(savedSet);
        Set<String> notHere = new TreeSet<>(savedSet);
        notHere.removeAll(mine);
        throw new CheckpointFormatException(tensorsFile + ": saved for other LoRA pairs than this optimizer's ("
                + savedSet.size() + " there, " + mine.size() + " here)" + listed("; not in the file: ", notSaved)
                + listed("; not in this optimizer: ", notHere)
                + ": restore into an optimizer over the same adapted modules");
    }

    /** {@code label} and the first three names of {@code names} with their count, or nothing when empty. */
    private static String listed(String label, Set<String> names) {
        if (names.isEmpty()) {
            return "";
        }
        List<String> shown = names.stream().limit(3).collect(Collectors.toList());
        return label + String.join(", ", shown) + (names.size() > shown.size() ? ", ... (" + names.size() + ")" : "");
    }

    /**
     * The SHA-256 of the step counts as {@code name=count} lines in name order: the values, not the
     * file's bytes, so that line endings or a reformatted file do not count as another save.
     */
    private static String stepsDigest(Map<String, Integer> steps) {
        StringBuilder canonical = new StringBuilder();
        new TreeMap<>(steps).forEach((name, count) -> canonical.append(name).append('=').append(count).append('\n'));
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * The live state, to be streamed tensor by tensor: a copy would double the memory of a large
     * state; its metadata records the optimizer's kind, the step counts' hash and the LoRA pairs.
     */
    private static SafetensorsWriter tensorsOf(ResumableOptimizer optimizer, OptimizerState snapshot) {
        SafetensorsWriter writer = new SafetensorsWriter();
        writer.putMetadata(KIND_KEY, optimizer.stateKind());
        writer.putMetadata(STEPS_HASH_KEY, stepsDigest(snapshot.getSteps()));
        writer.putMetadata(PAIRS_KEY, String.join("\n", new TreeSet<>(optimizer.getPairs().keySet())));
        snapshot.getTensors().forEach(writer::addContiguous);
        // bf16 moments: each made as float32 when written, then freed
        optimizer.packedStateAsFloat32().forEach((name, made) -> writer.addLater(name,
                TensorDType.F32, made.getKey().getShape(), made.getValue()));
        return writer;
    }

    private static String stepsJson(Map<String, Integer> steps) {
        JsonObject json = new JsonObject();
        steps.forEach(json::addProperty);
        return GSON.toJson(json) + "\n";
    }
}
