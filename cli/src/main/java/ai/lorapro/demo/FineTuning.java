package ai.lorapro.demo;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.lorapro.data.batch.Example;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.optim.StateDType;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.Method;
import ai.lorapro.train.PeakMemory;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainingEngine;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One fine-tuning run of a pretrained demo model on a skill's training problems, measured on
 * held-out problems: the engine's loss on their answers, and greedy exact match. Every method gets
 * the same steps, batch, warm-up cosine schedule and seed; LoRA and LoRA-Pro use r = 8, alpha =
 * 16 on all linear layers.
 *
 * @param config the model configuration
 * @param tokenizer the demo tokenizer
 * @param corpus turns problems into examples
 * @param steps optimizer steps
 * @param stateDType how LoRA-Pro's full-mode moments are stored (the other methods keep fp32 state)
 */
record FineTuning(LlamaConfig config, CharTokenizer tokenizer, ArithmeticCorpus corpus, int steps,
        StateDType stateDType) {

    /** The LoRA rank of the adapter methods. */
    static final int RANK = 8;
    /** The LoRA alpha of the adapter methods. */
    static final float ALPHA = 16;

    /**
     * Fine-tunes the weights in {@code base} with {@code method}.
     *
     * @param train the training problems
     * @param heldOut the problems it is measured on
     * @param out the run's output directory (metrics, final checkpoint)
     * @param adapterDir where to save the PEFT adapter of an adapter method, or null
     */
    MethodRun run(Method method, float lr, long seed, Path base, List<ArithmeticCorpus.Problem> train,
            List<ArithmeticCorpus.Problem> heldOut, Path out, Path adapterDir) {
        TrainConfig trainConfig = DemoModel.trainConfig(method, lr, steps, seed, out)
                .optR(RANK)
                .optAlpha(ALPHA)
                .optStateDType(method == Method.LORA_PRO ? stateDType : StateDType.FP32)
                .build();
        List<Example> trainExamples = corpus.examples(train);
        List<Example> heldOutExamples = corpus.examples(heldOut);
        System.gc();
        boolean peakReset = PeakMemory.reset();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = DemoModel.load(config, base, manager);
            double[] accuracy = new double[1];
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(trainConfig)
                    .setManager(manager)
                    .setTrainExamples(trainExamples)
                    .optEvalExamples(heldOutExamples)
                    .optEvalHook(step -> {
                        accuracy[0] = ExactMatch.of(model, manager, heldOut, tokenizer);
                        return Map.of("exact_match", accuracy[0]);
                    })
                    .optBaseModel(DemoModel.NAME)
                    .build()) {
                TrainResult result = engine.run();
                long peak = peakReset ? PeakMemory.peakBytes() : -1;
                if (adapterDir != null && method.usesAdapters()) {
                    PeftAdapter.save(model, adapterDir, DemoModel.NAME, "CAUSAL_LM");
                }
                return new MethodRun(method, seed, lr, result.losses(), result.finalEval().get("loss"),
                        accuracy[0], result.seconds(), peak, result.optimizerStateBytes(),
                        result.trainableParameters());
            }
        }
    }

    /** The exact match of the pretrained weights in {@code base}, without fine-tuning. */
    double baseExactMatch(Path base, List<ArithmeticCorpus.Problem> heldOut) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            return ExactMatch.of(DemoModel.load(config, base, manager), manager, heldOut, tokenizer);
        }
    }
}
