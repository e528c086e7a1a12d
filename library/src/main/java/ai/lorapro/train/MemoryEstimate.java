package ai.lorapro.train;

import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.common.LoraSizes;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaFamily;
import ai.lorapro.models.llama.LlamaForCausalLM;

import java.util.Locale;
import java.util.Optional;

/**
 * What a training run holds in memory at its steady state, estimated from the model's and the
 * run's configuration before any weight is loaded. The parts are exact byte counts except the
 * activations, which are an estimate:
 *
 * <ul>
 *   <li>base weights: every base parameter at its type (2 bytes with {@code --fp16-frozen}, else 4);
 *   <li>adapters: the LoRA factors A and B in float32 (none for full fine-tuning);
 *   <li>gradients: one float32 gradient per trained value;
 *   <li>optimizer state: AdamW's two float32 moments per trained value ({@code full}, {@code lora},
 *       {@code lora-pro-efficient}), two m x n moments per adapted layer ({@code lora-pro}), none for
 *       {@code lora-pro-sgd};
 *   <li>activations: what the backward pass of one micro-batch keeps. Each layer keeps about 16
 *       hidden-sized and 5 intermediate-sized float32 values per token plus 3 attention
 *       probabilities per head, key and token; the output head keeps 3 vocabulary-sized values per
 *       token. With float16 base weights only the hidden state between layers is kept, plus one
 *       layer's activations and float32 copies of its weights (layers are recomputed).
 * </ul>
 *
 * <p>The runtime itself (JVM, native libraries, allocator slack) is not included.
 *
 * @param baseWeightBytes the base model's parameters
 * @param adapterBytes the LoRA factors
 * @param gradientBytes the gradients of the trained values
 * @param optimizerStateBytes the optimizer's moments
 * @param activationBytes the activations of one micro-batch (estimate)
 */
public record MemoryEstimate(long baseWeightBytes, long adapterBytes, long gradientBytes,
        long optimizerStateBytes, long activationBytes) {

    private static final int FLOAT32 = 4;

    /** The sum of the parts. */
    public long totalBytes() {
        return baseWeightBytes + adapterBytes + gradientBytes + optimizerStateBytes + activationBytes;
    }

    /**
     * The estimate for training {@code model} as {@code run} says, for the families whose activations it
     * knows how to count (Llama); empty for the others.
     *
     * @param model the model's architecture
     * @param run the run's settings (method, adapters, micro-batch, sequence length, float16)
     */
    public static Optional<MemoryEstimate> of(ModelArchitecture model, TrainConfig run) {
        return model instanceof LlamaFamily.Architecture
                ? Optional.of(forLlama(((LlamaFamily.Architecture) model).config(), run))
                : Optional.empty();
    }

    /**
     * The estimate for training a Llama model of {@code model} as {@code run} says.
     *
     * @param model the model's configuration
     * @param run the run's settings (method, adapters, micro-batch, sequence length, float16)
     */
    public static MemoryEstimate forLlama(LlamaConfig model, TrainConfig run) {
        LlamaFamily.Architecture architecture = new LlamaFamily.Architecture(model);
        long baseValues = architecture.baseParameters();
        Method method = run.getMethod();
        boolean adapters = method.usesAdapters();
        LoraSizes lora = adapters ? architecture.loraSizes(run.toLoraConfig()) : new LoraSizes(0, 0, 0);
        long trained = adapters ? lora.trainableParameters() : baseValues;
        long state;
        switch (method) {
            case LORA_PRO:
                state = lora.loraProFullStateBytesFloat32();
                break;
            case LORA_PRO_SGD:
                state = 0;
                break;
            default:
                state = 2L * FLOAT32 * trained;
        }
        long baseBytes = baseValues * (run.isFp16Frozen() ? 2 : FLOAT32);
        return new MemoryEstimate(baseBytes, adapters ? FLOAT32 * trained : 0, FLOAT32 * trained, state,
                activations(model, run));
    }

    private static long activations(LlamaConfig c, TrainConfig run) {
        long tokens = (long) run.getMicroBatch() * run.getMaxSeqLength();
        long perLayerPerToken = 16L * c.hiddenSize() + 5L * c.intermediateSize()
                + 3L * c.numAttentionHeads() * run.getMaxSeqLength();
        long layer = FLOAT32 * tokens * perLayerPerToken;
        long head = FLOAT32 * tokens * 3L * c.vocabSize();
        if (!run.isFp16Frozen()) {
            return c.numHiddenLayers() * layer + head;
        }
        long boundaries = FLOAT32 * tokens * c.hiddenSize() * (c.numHiddenLayers() + 1L);
        // the largest set of weights widened at once: one decoder layer's, or the output head's
        long widened = 0;
        long layerWeights = 0;
        for (java.util.Map.Entry<String, long[]> e : LoraSizes.linearShapes(new LlamaForCausalLM(c)).entrySet()) {
            long values = e.getValue()[0] * e.getValue()[1];
            if (e.getKey().startsWith("model.layers.0.")) {
                layerWeights += values;
            } else if (!e.getKey().startsWith("model.layers.")) {
                widened = Math.max(widened, values);
            }
        }
        widened = FLOAT32 * Math.max(widened, layerWeights);
        return boundaries + layer + widened + head;
    }

    /** One line per part, in GB, for the run log. */
    public String describe() {
        return String.format(Locale.ROOT,
                "memory estimate: base weights %s, adapters %s, gradients %s, optimizer state %s,"
                        + " activations of one micro-batch ~%s; total ~%s",
                gb(baseWeightBytes), gb(adapterBytes), gb(gradientBytes), gb(optimizerStateBytes),
                gb(activationBytes), gb(totalBytes()));
    }

    static String gb(long bytes) {
        return String.format(Locale.ROOT, "%.2f GB", bytes / 1e9);
    }
}
