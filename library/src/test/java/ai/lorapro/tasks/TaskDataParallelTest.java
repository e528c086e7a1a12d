package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import ai.djl.Device;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TrainConfig;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The paper's tasks data parallel, on the CPU: T5 (GLUE), Llama (instruction data) and CLIP (image
 * folder) trained on two replicas with a micro-batch of 2 give the losses of one replica with a
 * micro-batch of 4, on the same global batch of 4.
 */
class TaskDataParallelTest {

    private static final int STEPS = 4;

    @TempDir
    static Path models;

    @TempDir
    Path dir;

    @BeforeAll
    static void saveModels() {
        TinyModels.t5(models.resolve("t5"));
        TinyModels.llama(models.resolve("llama"));
        TinyModels.clip(models.resolve("clip"));
    }

    private TrainConfig config(int microBatch, Path out) {
        return TrainConfig.builder()
                .optMethod(Method.LORA_PRO)
                .optR(4)
                .optAlpha(8)
                .optLr(1e-3f)
                .optWarmupRatio(0)
                .optMaxSteps(STEPS)
                .optGlobalBatch(4)
                .optMicroBatch(microBatch)
                .optSeed(3)
                .optMaxSeqLength(384)
                .optLogInterval(100)
                .optEvalInterval(1000)
                .optCheckpointInterval(1000)
                .optDevice(DeviceChoice.CPU)
                .setOutputDir(out)
                .build();
    }

    /** Trains {@code task} on one replica and on two, and compares the losses of every step. */
    private void assertTwoReplicasTrainLikeOne(String task, String model, Path data, Path eval) {
        double[] one = TaskTrainer.train(task, config(4, dir.resolve(task + "-one")),
                new TaskTrainInputs(models.resolve(model), null, data, eval, null, false)).train().losses();
        double[] two = TaskTrainer.train(task, config(2, dir.resolve(task + "-two")),
                new TaskTrainInputs(models.resolve(model), null, data, eval, null, false,
                        List.of(Device.cpu(), Device.cpu()))).train().losses();
        assertEquals(STEPS, one.length);
        assertEquals(STEPS, two.length);
        for (int step = 0; step < STEPS; step++) {
            assertEquals(one[step], two[step], 1e-5 * Math.max(1, Math.abs(one[step])), task + " step " + (step + 1));
        }
        assertNotEquals(one[0], one[STEPS - 1], task + ": the loss did not move");
    }

    @Test
    void glueOnT5() throws Exception {
        Path train = dir.resolve("train.tsv");
        List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
        String[] words = {"a gripping , funny film", "a dull mess", "wonderful acting", "boring and long"};
        for (int i = 0; i < 8; i++) {
            lines.add(words[i % 4] + "\t" + (i % 2 == 0 ? 1 : 0));
        }
        Files.write(train, lines);
        assertTwoReplicasTrainLikeOne("glue-sst2", "t5", train, null);
    }

    @Test
    void instructionOnLlama() throws Exception {
        Path data = dir.resolve("metamath.json");
        Files.writeString(data, "[{\"query\": \"What is 2+3?\", \"response\": \"2+3=5. The answer is: 5\"},"
                + "{\"query\": \"What is 4*2?\", \"response\": \"4*2=8. The answer is: 8\"},"
                + "{\"query\": \"What is 9-1?\", \"response\": \"9-1=8. The answer is: 8\"},"
                + "{\"query\": \"What is 6/3?\", \"response\": \"6/3=2. The answer is: 2\"}]");
        assertTwoReplicasTrainLikeOne("metamath", "llama", data, null);
    }

    @Test
    void imageFolderOnClip() throws Exception {
        Path root = dir.resolve("images");
        ImageFolderTest.twoClassFolder(root);
        assertTwoReplicasTrainLikeOne("image-folder", "clip", root, null);
    }
}
