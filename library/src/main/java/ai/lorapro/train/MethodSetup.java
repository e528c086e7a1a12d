package ai.lorapro.train;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.lora.LoraLinear;
import ai.lorapro.optim.LoraProAdamW;
import ai.lorapro.optim.LoraProSgd;
import ai.lorapro.optim.PlainAdamW;
import ai.lorapro.optim.ResumableOptimizer;
import ai.lorapro.nn.ModuleTree;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a loaded model into the trainable model of a {@link Method} and builds the method's
 * optimizer. Every method shares the learning rate schedule, betas, epsilon and weight decay of the
 * {@link TrainConfig}:
 *
 * <ul>
 *   <li>{@code full}: every parameter trains, plain AdamW;
 *   <li>{@code lora}: adapters on the target modules, plain AdamW on A and B;
 *   <li>{@code lora-pro}: adapters, LoRA-Pro AdamW with full-size moments;
 *   <li>{@code lora-pro-efficient}: adapters, LoRA-Pro AdamW with factor-size moments;
 *   <li>{@code lora-pro-sgd}: adapters, LoRA-Pro SGD.
 * </ul>
 */
public final class MethodSetup {

    private MethodSetup() {}

    /**
     * Injects the adapters (LoRA methods) or unfreezes every weight (full fine-tuning).
     *
     * @param model the model with its base weights loaded
     * @param config the run settings
     * @return the adapted module paths; empty for full fine-tuning
     * @throws ai.lorapro.InvalidInputException when a target module matches no layer
     * @throws IllegalStateException when the model already has adapters (merged or not): the engine
     *     injects those of {@code config.lora()} itself
     */
    public static List<String> prepare(Block model, TrainConfig config) {
        for (Map.Entry<String, Block> module : ModuleTree.namedModules(model).entrySet()) {
            if (module.getValue() instanceof LoraLinear layer && (layer.hasAdapter() || layer.isMerged())) {
                // the engine injects the adapters of TrainConfig.lora() itself
                throw new IllegalStateException("layer " + module.getKey() + " already has a LoRA adapter"
                        + (layer.isMerged() ? ", merged into its weight" : "") + ": the training engine injects"
                        + " the adapters of TrainConfig.lora() itself; give it the model without adapters (to"
                        + " continue an adapter's training, resume from its checkpoint)");
            }
        }
        if (config.method().usesAdapters()) {
            return LoraInjector.inject(model, config.lora());
        }
        for (Parameter p : ModuleTree.namedParameters(model).values()) {
            p.freeze(false);
        }
        return List.of();
    }

    /** The trainable parameters of {@code model} by dotted name, in tree order. */
    public static Map<String, Parameter> trainableParameters(Block model) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        ModuleTree.namedParameters(model).forEach((name, p) -> {
            if (p.requiresGradient()) {
                out.put(name, p);
            }
        });
        return out;
    }

    /** The number of trainable values of {@code model}. */
    public static long trainableCount(Block model) {
        long n = 0;
        for (Parameter p : trainableParameters(model).values()) {
            n += p.getArray().getShape().size();
        }
        return n;
    }

    /**
     * The optimizer of the method, its state named after the model's parameter paths.
     *
     * @param model the prepared model
     * @param config the run settings
     * @param learningRate the learning rate tracker
     * @return the optimizer (close it to free its state)
     */
    public static ResumableOptimizer optimizer(Block model, TrainConfig config, Tracker learningRate) {
        switch (config.method()) {
            case FULL:
            case LORA:
                return PlainAdamW.builder()
                        .setLearningRateTracker(learningRate)
                        .optConfig(config.optimizer())
                        .addLoraLayers(model)
                        .build();
            case LORA_PRO:
            case LORA_PRO_EFFICIENT:
                return LoraProAdamW.builder()
                        .setLearningRateTracker(learningRate)
                        .optConfig(config.optimizer())
                        .optMode(config.method() == Method.LORA_PRO
                                ? LoraProAdamW.Mode.FULL : LoraProAdamW.Mode.EFFICIENT)
                        .addLoraLayers(model)
                        .build();
            case LORA_PRO_SGD:
                return LoraProSgd.builder()
                        .setLearningRateTracker(learningRate)
                        .optConfig(config.optimizer())
                        .addLoraLayers(model)
                        .build();
            default:
                throw new IllegalStateException("unknown method " + config.method());
        }
    }
}
