package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.CheckpointFormatException;
import ai.lorapro.io.ClassNamesFile;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.io.SafetensorsWriter;
import ai.lorapro.io.TensorInfo;
import ai.lorapro.nn.HasClassNames;
import ai.lorapro.nn.Weights;
import ai.lorapro.optim.ResumableOptimizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes and reads a training checkpoint directory, published atomically:
 *
 * <pre>
 * step-000100/
 *   adapter/adapter_config.json, adapter/adapter_model.safetensors   (LoRA methods, PEFT format)
 *   model.safetensors                                                 (full fine-tuning: trained weights)
 *   optimizer.safetensors, optimizer_steps.json                       (optimizer moments and step counts: {@link OptimizerCheckpoint})
 *   trainer_state.json                                                (step, data position, seed, loss scale, ...)
 *   class_names.json (in adapter/ for LoRA methods)                   (a classifier's rows: {@link ClassNamesFile})
 * </pre>
 */
public final class TrainingCheckpoint {

    /** The adapter subdirectory. */
    public static final String ADAPTER_DIR = "adapter";
    /** The trained weights of full fine-tuning. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The optimizer's state arrays ({@link OptimizerCheckpoint}). */
    public static final String OPTIMIZER_FILE = OptimizerCheckpoint.TENSORS_FILE;
    /** The optimizer's step counts ({@link OptimizerCheckpoint}). */
    public static final String OPTIMIZER_STEPS_FILE = OptimizerCheckpoint.STEPS_FILE;

    private TrainingCheckpoint() {}

    /**
     * Publishes a checkpoint at {@code dir} (replacing any previous one atomically).
     *
     * @param dir the checkpoint directory
     * @param model the model
     * @param method the method (adapter or full weights)
     * @param optimizer the optimizer
     * @param state the engine's state
     * @param identity what the checkpoint belongs to ({@link RunIdentity}), or {@code null} not to record it
     * @param baseModel the base model name or path for the adapter config
     * @param taskType the PEFT task type
     */
    public static void save(Path dir, Block model, Method method, ResumableOptimizer optimizer,
            TrainerState state, RunIdentity identity, String baseModel, String taskType) {
        AtomicFiles.publishDirectory(dir, tmp -> {
            if (identity != null) {
                Files.writeString(tmp.resolve(RunIdentity.FILE_NAME), identity.toJson(), StandardCharsets.UTF_8);
            }
            if (method.usesAdapters()) {
                PeftAdapter.save(model, tmp.resolve(ADAPTER_DIR), baseModel, taskType);
            } else {
                SafetensorsWriter writer = new SafetensorsWriter();
                MethodSetup.trainableParameters(model).forEach((name, p) -> writer.addContiguous(name, p.getArray()));
                writer.write(tmp.resolve(WEIGHTS_FILE));
            }
            // a classifier's rows by name, beside the weights that hold its head
            if (model instanceof HasClassNames named && !named.classNames().isEmpty()) {
                ClassNamesFile.write(method.usesAdapters() ? tmp.resolve(ADAPTER_DIR) : tmp, named.classNames());
            }
            OptimizerCheckpoint.writeInto(optimizer, tmp);
            Files.writeString(tmp.resolve(TrainerState.FILE_NAME), state.toJson(), StandardCharsets.UTF_8);
        });
    }

    /**
     * Restores the trained weights and the optimizer state of the checkpoint at {@code dir} into a
     * model prepared for the same method.
     *
     * @return the engine's saved state
     * @throws InvalidInputException when the checkpoint is incomplete, malformed or was made by
     *     another method
     */
    public static TrainerState restore(Path dir, Block model, Method method, ResumableOptimizer optimizer,
            NDManager manager) {
        TrainerState state = TrainerState.read(dir);
        if (!state.method().equals(method.id())) {
            throw new InvalidInputException("checkpoint " + dir + ": checkpoint was trained with method "
                    + state.method() + ", not " + method.id());
        }
        if (method.usesAdapters()) {
            PeftAdapter.load(dir.resolve(ADAPTER_DIR), model);
        } else {
            loadWeights(dir.resolve(WEIGHTS_FILE), model, manager);
        }
        OptimizerCheckpoint.restore(dir, optimizer, manager, state.globalStep());
        return state;
    }

    /**
     * Restores the trained weights of full fine-tuning. Every tensor is checked first (present,
     * of the parameter's shape, floating point and finite), so that a bad one leaves the model as
     * it was; then they are assigned one at a time (the file is memory-mapped and read twice, so
     * that one weight at a time is held twice, not all).
     */
    private static void loadWeights(Path file, Block model, NDManager manager) {
        ResumeLimits.requireFile(file);
        Map<String, Parameter> params = MethodSetup.trainableParameters(model);
        try (SafetensorsFile source = SafetensorsFile.open(file); NDManager temp = manager.newSubManager()) {
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                checkedWeight(file, source, temp, e.getKey(), e.getValue().getArray()).close();
            }
            for (Map.Entry<String, Parameter> e : params.entrySet()) {
                NDArray array = source.load(temp, e.getKey(), e.getValue().getArray().getDataType());
                if (!Weights.assign(e.getValue(), array)) {
                    array.close();
                }
            }
        }
    }

    /** The weight {@code name} loaded as {@code target}'s type, after checking it can replace {@code target}. */
    private static NDArray checkedWeight(Path file, SafetensorsFile source, NDManager manager, String name,
            NDArray target) {
        if (!source.contains(name)) {
            throw new CheckpointFormatException(file + ": missing tensor '" + name + "'");
        }
        TensorInfo info = source.info(name);
        if (!info.shape().equals(target.getShape())) {
            throw new CheckpointFormatException(file + ": tensor '" + name + "' has shape " + info.shape()
                    + ", expected " + target.getShape());
        }
        if (!info.dtype().isFloating()) {
            throw new CheckpointFormatException(file + ": tensor '" + name + "' is " + info.dtype()
                    + "; weights must be floating point");
        }
        return ResumeLimits.requireFinite(file, name, source.load(manager, name, target.getDataType()));
    }
}
