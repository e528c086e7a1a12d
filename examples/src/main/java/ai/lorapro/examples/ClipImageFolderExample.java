package ai.lorapro.examples;

import ai.lorapro.examples.support.ExampleRun;
import ai.lorapro.tasks.TaskTrainer;
import ai.lorapro.tasks.TrainInputs;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;

import java.nio.file.Path;

/**
 * Fine-tunes a CLIP image classifier (zero-shot head from "a photo of a {class}.") on an
 * ImageFolder dataset with r 8, alpha 16, and reports test accuracy.
 *
 * <pre>
 * ClipImageFolderExample MODEL_DIR ROOT OUT_DIR [METHOD]
 * </pre>
 *
 * ROOT holds {@code train/<class>/*.jpg|png} and {@code test/<class>/...}.
 */
public final class ClipImageFolderExample {

    private ClipImageFolderExample() {}

    /** Trains and evaluates, or prints usage when the paths are missing (exit code 2). */
    public static void main(String[] args) {
        ExampleRun.exit(run(args));
    }

    /** The work of {@link #main}: its exit code ({@link ExampleRun}). */
    static int run(String[] args) {
        String usage = String.join(System.lineSeparator(),
                "usage: ClipImageFolderExample MODEL_DIR ROOT OUT_DIR [METHOD]",
                "  ROOT: ImageFolder layout, ROOT/train/<class>/*.jpg|png and ROOT/test/<class>/...",
                "  METHOD: lora-pro (default), lora, full, lora-pro-efficient, lora-pro-sgd");
        return ExampleRun.run(args, 3, 2, usage, () -> {
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.fromId(args.length > 3 ? args[3] : "lora-pro"))
                    .optR(8)
                    .optAlpha(16)
                    .optLr(1e-4f)
                    .optEpochs(1)
                    .optGlobalBatch(32)
                    .optMicroBatch(16)
                    .optDevice(DeviceChoice.AUTO)
                    .setOutputDir(Path.of(args[2]))
                    .build();
            TaskTrainer.Result result = TaskTrainer.train("image-folder", config,
                    new TrainInputs(Path.of(args[0]), null, Path.of(args[1]), null, null, false));
            System.out.println("final loss " + result.train().finalLoss() + ", test " + result.metrics());
        });
    }
}
