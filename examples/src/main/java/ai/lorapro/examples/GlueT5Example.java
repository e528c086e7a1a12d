package ai.lorapro.examples;

import ai.lorapro.examples.support.ExampleRun;
import ai.lorapro.tasks.TaskTrainer;
import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;

import java.nio.file.Path;

/**
 * Fine-tunes T5 on a GLUE task with the paper's setting (lr 1e-4, sequence length 128, batch 32,
 * r 8, alpha 16) for one epoch, and reports dev accuracy by greedy decoding.
 *
 * <pre>
 * GlueT5Example MODEL_DIR TASK TRAIN_FILE DEV_FILE OUT_DIR [METHOD]
 * </pre>
 *
 * TASK is glue-sst2, glue-mnli, glue-cola, glue-qnli or glue-mrpc; the files are GLUE TSV files or
 * Hugging Face JSON lines; METHOD is lora-pro (default), lora, full, ...
 */
public final class GlueT5Example {

    private GlueT5Example() {}

    /** Trains and evaluates, or prints usage when the paths are missing (exit code 2). */
    public static void main(String[] args) {
        ExampleRun.exit(run(args));
    }

    /** The work of {@link #main}: its exit code ({@link ExampleRun}). */
    static int run(String[] args) {
        String usage = String.join(System.lineSeparator(),
                "usage: GlueT5Example MODEL_DIR TASK TRAIN_FILE DEV_FILE OUT_DIR [METHOD]",
                "  TASK: glue-sst2 | glue-mnli | glue-cola | glue-qnli | glue-mrpc",
                "  TRAIN_FILE, DEV_FILE: GLUE TSV files (train.tsv, dev.tsv / dev_matched.tsv) or JSON lines",
                "  METHOD: lora-pro (default), lora, full, lora-pro-efficient, lora-pro-sgd");
        return ExampleRun.run(args, 5, 4, usage, () -> {
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.fromId(args.length > 5 ? args[5] : "lora-pro"))
                    .optR(8)
                    .optAlpha(16)
                    .optLr(1e-4f)
                    .optEpochs(1)
                    .optGlobalBatch(32)
                    .optMicroBatch(8)
                    .optMaxSeqLength(128)
                    .optDevice(DeviceChoice.AUTO)
                    .setOutputDir(Path.of(args[4]))
                    .build();
            TaskTrainer.Result result = TaskTrainer.train(args[1], config,
                    new TrainInputs(Path.of(args[0]), null, Path.of(args[2]), Path.of(args[3]), null, false));
            System.out.println("final loss " + result.train().finalLoss() + ", dev " + result.metrics());
        });
    }
}
