package ai.lorapro.train;

import ai.djl.ndarray.types.DataType;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.common.LoraSizes;

import java.util.Locale;

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
 *       {@code lora-pro-efficient}), two m x n moments per adapted layer ({@code lora-pro}; float32,
 *       or bfloat16 with {@code --state-dtype bf16}), none for {@code lora-pro-sgd};
 *   <li>activations: what the backward pass of one micro-batch keeps, as the model's family
 *       estimates it ({@link ModelArchitecture#activationBytes}; Llama's, T5's and CLIP's formulas
 *       are documented in their packages).
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
     * The estimate for training {@code model} as {@code run} says.
     *
     * @param model the model's architecture
     * @param run the run's settings (method, adapters, micro-batch, sequence length, float16)
     */
    public static MemoryEstimate of(ModelArchitecture model, TrainConfig run) {
        long baseValues = model.baseParameters();
        Method method = run.method();
        boolean adapters = method.usesAdapters();
        LoraSizes lora = adapters ? model.loraSizes(run.lora()) : new LoraSizes(0, 0, 0);
        long trained = adapters ? lora.trainableParameters() : baseValues;
        long state;
        switch (method) {
            case LORA_PRO:
                state = lora.loraProFullStateValues() * run.optimizer().stateDType().bytesPerValue();
                break;
            case LORA_PRO_SGD:
                state = 0;
                break;
            default:
                state = 2L * FLOAT32 * trained;
        }
        DataType frozenType = run.run().fp16Frozen() ? DataType.FLOAT16 : DataType.FLOAT32;
        long baseBytes = baseValues * frozenType.getNumOfBytes();
        return new MemoryEstimate(baseBytes, adapters ? FLOAT32 * trained : 0, FLOAT32 * trained, state,
                model.activationBytes(run.batch().microBatch(), run.batch().maxSeqLength(), frozenType));
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
