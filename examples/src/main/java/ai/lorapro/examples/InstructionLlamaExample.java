package ai.lorapro.examples;

import ai.lorapro.examples.support.ExampleRun;
import ai.lorapro.tasks.TaskTrainer;
import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainingCheckpoint;

import java.nio.file.Path;

/**
 * Instruction-tunes Llama with the paper's setting (lr 2e-5, batch 32, one epoch, sequence length
 * 1024, r 8, alpha 16) on MetaMathQA, Code-Feedback or WizardLM in the Alpaca template.
 *
 * <pre>
 * InstructionLlamaExample MODEL_DIR TASK DATA_FILE OUT_DIR [METHOD]
 * </pre>
 *
 * TASK is metamath, codefeedback or wizardlm; DATA_FILE is JSON lines or a JSON array in the
 * dataset's own fields. Evaluate the adapter with {@link Gsm8kEvalExample}, {@link
 * HumanEvalExample} or {@link MtBenchExample}.
 */
public final class InstructionLlamaExample {

    private InstructionLlamaExample() {}

    /** Trains, or prints usage when the paths are missing (exit code 2). */
    public static void main(String[] args) {
        ExampleRun.exit(run(args));
    }

    /** The work of {@link #main}: its exit code ({@link ExampleRun}). */
    static int run(String[] args) {
        String usage = String.join(System.lineSeparator(),
                "usage: InstructionLlamaExample MODEL_DIR TASK DATA_FILE OUT_DIR [METHOD]",
                "  TASK: metamath (query/response) | codefeedback (query/answer)"
                        + " | wizardlm (instruction/output or conversations)",
                "  METHOD: lora-pro (default), lora, full, lora-pro-efficient, lora-pro-sgd");
        return ExampleRun.run(args, 4, 3, usage, () -> {
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.fromId(args.length > 4 ? args[4] : "lora-pro"))
                    .optR(8)
                    .optAlpha(16)
                    .optLr(2e-5f)
                    .optEpochs(1)
                    .optGlobalBatch(32)
                    .optMicroBatch(4)
                    .optMaxSeqLength(1024)
                    .optDevice(DeviceChoice.AUTO)
                    .setOutputDir(Path.of(args[3]))
                    .build();
            TaskTrainer.Result result = TaskTrainer.train(args[1], config,
                    new TrainInputs(Path.of(args[0]), null, Path.of(args[2]), null, null, false));
            Path checkpoint = result.train().checkpoint();
            System.out.println("final loss " + result.train().finalLoss() + (config.method().usesAdapters()
                    ? ", adapter in " + checkpoint.resolve(TrainingCheckpoint.ADAPTER_DIR)
                    : ", weights in " + checkpoint));
        });
    }
}
