package ai.lorapro.demo;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.data.batch.Example;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainingCheckpoint;
import ai.lorapro.train.TrainingEngine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The demo's model: a 2-layer Llama (hidden 64, 4 heads) over the demo tokenizer, pretrained on
 * generated addition from a random initialisation.
 */
final class DemoModel {

    /** Examples per optimizer step, in pretraining and fine-tuning. */
    static final int BATCH = 32;
    /** The learning rate of pretraining. */
    static final float PRETRAIN_LR = 3e-3f;
    /** The name written into checkpoints and adapters. */
    static final String NAME = "lorapro-demo";

    private DemoModel() {}

    /** The model: 2 layers, hidden 64, 4 heads, vocabulary of the demo tokenizer. */
    static LlamaConfig config(CharTokenizer tokenizer) {
        return LlamaConfig.of(Map.of("vocab_size", tokenizer.vocabSize(), "hidden_size", 64, "intermediate_size", 128,
                "num_hidden_layers", 2, "num_attention_heads", 4, "max_position_embeddings", 32,
                "bos_token_id", tokenizer.bosId(), "eos_token_id", tokenizer.eosId(), "pad_token_id", tokenizer.padId()));
    }

    /**
     * Pretrains a randomly initialised model (seeded with {@code seed}) on {@code sentences} for
     * {@code steps} steps.
     *
     * @return the safetensors file of the pretrained weights
     */
    static Path pretrain(LlamaConfig config, List<Example> sentences, int steps, long seed, Path out) {
        TrainConfig trainConfig = trainConfig(Method.FULL, PRETRAIN_LR, steps, seed, out).build();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = LlamaForCausalLM.random(config, manager, seed);
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(trainConfig)
                    .setManager(manager)
                    .setTrainExamples(sentences)
                    .optBaseModel(NAME)
                    .build()) {
                return engine.run().checkpoint().resolve(TrainingCheckpoint.WEIGHTS_FILE);
            }
        }
    }

    /**
     * The settings every demo run shares: one full batch per step on the CPU, the engine's warm-up
     * cosine schedule, one progress line at the end.
     */
    static TrainConfig.Builder trainConfig(Method method, float lr, int steps, long seed, Path out) {
        return TrainConfig.builder()
                .optMethod(method)
                .optLr(lr)
                .optMaxSteps(steps)
                .optGlobalBatch(BATCH)
                .optMicroBatch(BATCH)
                .optSeed(seed)
                .optDevice(DeviceChoice.CPU)
                .optLogInterval(steps)
                .setOutputDir(out);
    }

    /** Loads pretrained weights written by {@link #pretrain}. */
    static LlamaForCausalLM load(LlamaConfig config, Path weights, NDManager manager) {
        try (SafetensorsFile file = SafetensorsFile.open(weights)) {
            return LlamaForCausalLM.fromPretrained(config, file, weights.toString(), manager, DataType.FLOAT32);
        }
    }
}
