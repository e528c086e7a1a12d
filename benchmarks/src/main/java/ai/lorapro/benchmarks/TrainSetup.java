package ai.lorapro.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.lora.LoraInjector;
import ai.lorapro.models.common.CausalLmLoss;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.nn.ModuleTree;
import ai.lorapro.optim.LoraProAdamW;
import ai.lorapro.optim.StateDType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A Llama-architecture model sized for a CPU, with the trainable parameters and optimizer of one
 * fine-tuning method, and the training step the benchmarks time: forward, backward and one optimizer
 * update per trainable parameter, every per-step array on a sub-manager closed at the end of the
 * step.
 */
final class TrainSetup implements AutoCloseable {

    static final int HIDDEN = 512;
    static final int LAYERS = 8;
    static final int HEADS = 8;
    static final int INTERMEDIATE = 1376;
    static final int VOCAB = 4096;
    static final int SEQ = 256;
    static final int BATCH = 4;
    static final int RANK = 8;
    static final float ALPHA = 16;
    static final List<String> METHODS =
            List.of("full", "lora", "lora-pro", "lora-pro-efficient", "lora-pro-bf16", "lora-pro-tensor");
    /** The methods train-step and memory compare by default. */
    static final List<String> DEFAULT_METHODS = List.of("full", "lora", "lora-pro", "lora-pro-efficient");

    final String method;
    private final NDManager manager;
    private final LlamaForCausalLM model;
    private final List<Parameter> trainable = new ArrayList<>();
    private final Optimizer optimizer;
    private final ParameterStore store;
    private long step;

    TrainSetup(NDManager root, String method) {
        this(root, method, 1e-4f);
    }

    /** A model for {@code method}, trained with a fixed learning rate. */
    TrainSetup(NDManager root, String method, float learningRate) {
        if (!METHODS.contains(method)) {
            throw new IllegalArgumentException("unknown method " + method + ", expected one of " + METHODS);
        }
        this.method = method;
        this.manager = root.newSubManager();
        manager.getEngine().setRandomSeed(1);
        this.model = LlamaForCausalLM.random(config(), manager, 1);
        boolean full = method.equals("full");
        if (!full) {
            LoraInjector.inject(model, LoraConfig.builder().setR(RANK).setAlpha(ALPHA).build());
        }
        for (Map.Entry<String, Parameter> e : ModuleTree.namedParameters(model).entrySet()) {
            boolean trains = full || e.getKey().endsWith("lora_A.weight") || e.getKey().endsWith("lora_B.weight");
            e.getValue().freeze(!trains);
            if (trains) {
                trainable.add(e.getValue());
            }
        }
        this.optimizer = optimizer(method, model, learningRate);
        this.store = new ParameterStore(manager, false);
    }

    /** hidden 512, 8 layers, 8 heads (head dim 64), intermediate 1376, vocab 4096, no tied embeddings. */
    static LlamaConfig config() {
        return LlamaConfig.of(Map.of("vocab_size", VOCAB, "hidden_size", HIDDEN, "intermediate_size", INTERMEDIATE,
                "num_hidden_layers", LAYERS, "num_attention_heads", HEADS, "max_position_embeddings", 2 * SEQ));
    }

    private static Optimizer optimizer(String method, LlamaForCausalLM model, float learningRate) {
        Tracker lr = Tracker.fixed(learningRate);
        switch (method) {
            case "full":
            case "lora":
                return Optimizer.adamW().optLearningRateTracker(lr).optWeightDecays(0f).build();
            case "lora-pro":
            case "lora-pro-efficient":
            case "lora-pro-bf16":
            case "lora-pro-tensor":
                // lora-pro-bf16: bf16 full-mode moments; lora-pro-tensor: the tensor-operation step on the CPU
                return LoraProAdamW.builder()
                        .setLearningRateTracker(lr)
                        .optMode(method.equals("lora-pro-efficient") ? LoraProAdamW.Mode.EFFICIENT : LoraProAdamW.Mode.FULL)
                        .optStateDType(method.equals("lora-pro-bf16") ? StateDType.BF16 : StateDType.FP32)
                        .optFusedCpuStep(!method.equals("lora-pro-tensor"))
                        .addLoraLayers(model)
                        .build();
            default:
                throw new IllegalArgumentException("unknown method " + method);
        }
    }

    /** Tokens in one step. */
    static long tokensPerStep() {
        return (long) BATCH * SEQ;
    }

    /** One training step on a random batch; returns the loss. */
    float step() {
        return step(null);
    }

    /** One training step on {@code tokens} (BATCH x SEQ ids, or null for a random batch); returns the loss. */
    float step(long[] tokens) {
        step++;
        try (NDManager stepManager = manager.newSubManager()) {
            NDArray ids = tokens == null
                    ? stepManager.randomInteger(0, VOCAB, new Shape(BATCH, SEQ), DataType.INT64)
                    : stepManager.create(tokens, new Shape(BATCH, SEQ));
            float loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.logits(store, ids, null, null, null, true);
                NDArray value = CausalLmLoss.mean(logits, ids);
                collector.backward(value);
                loss = value.getFloat();
            }
            for (Parameter p : trainable) {
                NDArray weight = p.getArray();
                // as DJL's LocalParameterServer: the optimizer sees a duplicate it may not keep
                try (NDArray grad = weight.getGradient();
                        NDArray copy = grad.duplicate()) {
                    optimizer.update(p.getId(), weight, copy);
                }
            }
            if (!Float.isFinite(loss)) {
                throw new IllegalStateException(method + ": loss is " + loss + " at step " + step);
            }
            return loss;
        }
    }

    /** The optimizer's state in bytes. */
    long stateBytes() {
        return OptimizerStepBench.stateBytes(optimizer);
    }

    /** The number of trainable parameters (elements). */
    long trainableElements() {
        return trainable.stream().mapToLong(p -> p.getArray().getShape().size()).sum();
    }

    @Override
    public void close() {
        if (optimizer instanceof AutoCloseable) {
            try {
                ((AutoCloseable) optimizer).close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
        manager.close();
    }
}
