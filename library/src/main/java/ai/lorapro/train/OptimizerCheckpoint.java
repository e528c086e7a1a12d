package ai.lorapro.train;

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
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

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

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private OptimizerCheckpoint() {}

    /**
     * Writes the optimizer's state into {@code dir} (made if missing). Both files are written in
     * full before either replaces an earlier pair.
     *
     * @param optimizer the optimizer, after its last update
     * @param dir the directory of the two files
     * @throws ai.lorapro.LoraProException when they cannot be written
     * @throws IllegalStateException when the optimizer is closed, or keeps state for a parameter
     *     without a stable name (register it with {@code addLoraLayers} or {@code nameParameter})
     */
    public static void save(ResumableOptimizer optimizer, Path dir) {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(dir, "dir");
        SafetensorsWriter tensors = tensorsOf(optimizer);
        String steps = stepsJson(optimizer);
        Map<Path, AtomicFiles.StreamWriter> files = new LinkedHashMap<>();
        files.put(dir.resolve(TENSORS_FILE), tensors::writeTo);
        files.put(dir.resolve(STEPS_FILE), out -> out.write(steps.getBytes(StandardCharsets.UTF_8)));
        AtomicFiles.writeAll(files);
    }

    /** Writes both files into {@code dir}, a directory being published whole ({@link TrainingCheckpoint}). */
    static void writeInto(ResumableOptimizer optimizer, Path dir) throws IOException {
        tensorsOf(optimizer).write(dir.resolve(TENSORS_FILE));
        Files.writeString(dir.resolve(STEPS_FILE), stepsJson(optimizer), StandardCharsets.UTF_8);
    }

    /**
     * Replaces the optimizer's state with the one saved in {@code dir}. Everything is checked before
     * anything is replaced: the step counts, every array finite and one this optimizer keeps, with
     * its shape once the parameters hold arrays. Call it after the model is initialised ({@code
     * trainer.initialize}): before, shapes are only checked at the first update, which then names
     * no file.
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
        Path tensorsFile = dir.resolve(TENSORS_FILE);
        Path stepsFile = dir.resolve(STEPS_FILE);
        ResumeLimits.requireFile(tensorsFile);
        ResumeLimits.requireFile(stepsFile);
        Map<String, Integer> steps = new LinkedHashMap<>();
        try {
            JsonObject o = JsonParser.parseString(Files.readString(stepsFile, StandardCharsets.UTF_8))
                    .getAsJsonObject();
            for (Map.Entry<String, JsonElement> e : o.entrySet()) {
                steps.put(e.getKey(), e.getValue().getAsInt());
            }
        } catch (IOException | RuntimeException e) {
            throw new CheckpointFormatException(stepsFile + ": malformed optimizer step counts");
        }
        ResumeLimits.requireOptimizerSteps(stepsFile, steps, globalStep);
        try (SafetensorsFile source = SafetensorsFile.open(tensorsFile); NDManager temp = manager.newSubManager()) {
            // one tensor at a time, each checked and handed over to the optimizer: never two copies of the state
            optimizer.importState(steps, source.names(), name -> ResumeLimits.requireFinite(tensorsFile, name,
                    source.load(temp, name, DataType.FLOAT32)));
        } catch (CheckpointFormatException e) {
            throw e;
        } catch (InvalidInputException e) {
            // the optimizer names the tensor or step count; the files are ours to name
            throw new CheckpointFormatException(tensorsFile + " with " + stepsFile.getFileName() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The live state, to be streamed tensor by tensor: a copy would double the memory of a large state. */
    private static SafetensorsWriter tensorsOf(ResumableOptimizer optimizer) {
        OptimizerState snapshot = optimizer.viewState();
        SafetensorsWriter writer = new SafetensorsWriter();
        snapshot.getTensors().forEach(writer::addContiguous);
        // bf16 moments: each made as float32 when written, then freed
        optimizer.packedStateAsFloat32().forEach((name, made) -> writer.addLater(name,
                TensorDType.F32, made.getKey().getShape(), made.getValue()));
        return writer;
    }

    private static String stepsJson(ResumableOptimizer optimizer) {
        JsonObject steps = new JsonObject();
        optimizer.viewState().getSteps().forEach(steps::addProperty);
        return GSON.toJson(steps) + "\n";
    }
}
