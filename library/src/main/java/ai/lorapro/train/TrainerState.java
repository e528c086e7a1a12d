package ai.lorapro.train;

import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.DataPosition;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The engine's own part of a checkpoint ({@code trainer_state.json}): where the run is and what it
 * was trained on. The random state needs no snapshot: the engine reseeds the engine's generator
 * with {@code seed + step} at every step, so the seed and the step determine it.
 *
 * @param globalStep optimizer steps completed (skipped steps included)
 * @param position where the next step's data starts
 * @param seed the run's seed
 * @param lossScale the dynamic loss scale (1 without fp16)
 * @param lossScaleGoodSteps good steps since the scale last changed
 * @param skippedSteps steps skipped for a non-finite loss or gradient norm
 * @param datasetFingerprint a hash of the training examples
 * @param method the method's command-line name
 * @param config the run settings, for the record
 */
public record TrainerState(long globalStep, DataPosition position, long seed, double lossScale,
        int lossScaleGoodSteps, long skippedSteps, String datasetFingerprint, String method,
        String config) {

    /** The file name inside a checkpoint directory. */
    public static final String FILE_NAME = "trainer_state.json";

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    /** The state as JSON text. */
    public String toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("global_step", globalStep);
        o.addProperty("epoch", position.epoch());
        o.addProperty("index", position.index());
        o.addProperty("seed", seed);
        o.addProperty("loss_scale", lossScale);
        o.addProperty("loss_scale_good_steps", lossScaleGoodSteps);
        o.addProperty("skipped_steps", skippedSteps);
        o.addProperty("dataset_fingerprint", datasetFingerprint);
        o.addProperty("method", method);
        o.addProperty("config", config);
        return GSON.toJson(o) + "\n";
    }

    /**
     * Reads {@code dir/trainer_state.json}.
     *
     * @throws InvalidInputException naming the file when it is missing or malformed
     */
    public static TrainerState read(Path dir) {
        Path file = dir.resolve(FILE_NAME);
        if (!Files.isRegularFile(file)) {
            throw new InvalidInputException(file + ": not a checkpoint (trainer state missing)");
        }
        try {
            JsonObject o = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8))
                    .getAsJsonObject();
            return new TrainerState(
                    o.get("global_step").getAsLong(),
                    new DataPosition(o.get("epoch").getAsInt(), o.get("index").getAsInt()),
                    o.get("seed").getAsLong(),
                    o.get("loss_scale").getAsDouble(),
                    o.get("loss_scale_good_steps").getAsInt(),
                    o.get("skipped_steps").getAsLong(),
                    o.get("dataset_fingerprint").getAsString(),
                    o.get("method").getAsString(),
                    o.get("config").getAsString());
        } catch (IOException e) {
            throw new InvalidInputException(file + ": cannot read: " + e.getMessage());
        } catch (JsonParseException | IllegalStateException | IllegalArgumentException
                | NullPointerException | UnsupportedOperationException e) {
            throw new InvalidInputException(file + ": malformed trainer state");
        }
    }
}
