package ai.lorapro.tasks;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamilies;

import java.nio.file.Path;

/**
 * Loads the model of a task through the {@link ModelFamilies} registry and checks that it is the
 * kind of model the task works on, before the weights are read.
 */
public final class TaskModels {

    private TaskModels() {}

    /**
     * The model of {@code modelDir} as a {@code type}.
     *
     * @param modelDir the Hugging Face model directory
     * @param manager where the weights live
     * @param frozenType FLOAT32 or FLOAT16 base weights
     * @param type the model class the task needs (e.g. a causal language model)
     * @param task the task's name, for the error message
     * @throws InvalidInputException when the directory's family builds another kind of model, or
     *     its config or weights are unusable
     */
    public static <T extends Block> T load(Path modelDir, NDManager manager, DataType frozenType, Class<T> type,
            String task) {
        ModelArchitecture architecture = ModelFamilies.readModelDir(modelDir);
        requireType(architecture, type, task, modelDir);
        return type.cast(architecture.load(modelDir, manager, frozenType));
    }

    /**
     * Checks that {@code architecture} builds a {@code type}.
     *
     * @throws InvalidInputException naming the task, the directory and its model type otherwise
     */
    public static void requireType(ModelArchitecture architecture, Class<?> type, String task, Path modelDir) {
        if (!type.isInstance(architecture.newModel())) {
            throw new InvalidInputException(task + " needs a " + type.getSimpleName() + " but " + modelDir
                    + " holds a " + architecture.modelType() + " model (" + architecture.kind() + ")");
        }
    }
}
