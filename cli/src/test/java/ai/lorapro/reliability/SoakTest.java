package ai.lorapro.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.train.Method;
import ai.lorapro.train.TinyModels;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainingEngine;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A long run on a tiny Llama (hidden 16, one layer, vocabulary 32, sequences of 8, micro-batch 2,
 * LoRA-Pro full mode): the number of live arrays under the model's manager is the same at step 100
 * and at the last step, and the process's resident memory grows by less than {@link #RSS_BOUND_MB}
 * between step 200 and the last step, both read after a full garbage collection.
 *
 * <p>{@code -Dlorapro.soak.steps=N} sets the length (default 2000).
 */
class SoakTest {

    private static final int VOCAB = 32;
    private static final int SEQ = 8;
    /** Resident-set growth allowed between step 200 and the end. */
    private static final long RSS_BOUND_MB = 64;

    @TempDir
    Path tmp;

    private static LlamaConfig config() {
        return LlamaConfig.of(Map.of("vocab_size", VOCAB, "hidden_size", 16, "intermediate_size", 32,
                "num_hidden_layers", 1, "num_attention_heads", 2, "num_key_value_heads", 1,
                "max_position_embeddings", SEQ, "initializer_range", 0.05));
    }

    /** Sequences of 8: BOS, three tokens, SEP, the three tokens + 1, labelled on the answer. */
    static List<Example> examples(int count) {
        Random random = new Random(3);
        List<Example> out = new ArrayList<>();
        for (int n = 0; n < count; n++) {
            long[] ids = new long[SEQ];
            long[] labels = new long[SEQ];
            java.util.Arrays.fill(labels, Example.IGNORE_INDEX);
            ids[0] = 1;
            ids[4] = 3;
            for (int i = 0; i < 3; i++) {
                ids[1 + i] = 4 + random.nextInt(VOCAB - 5);
                ids[5 + i] = ids[1 + i] + 1;
                labels[5 + i] = ids[5 + i];
            }
            out.add(new Example(ids, labels));
        }
        return out;
    }

    /** VmRSS of this process in kB. */
    static long residentKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /**
     * VmRSS once the garbage is collected. Without this the reading mostly measures how much of
     * the Java heap's young generation the JVM has touched so far (it commits 1/64 of the
     * machine's memory up front and touches it lazily), which says nothing about leaks; G1 gives
     * unused heap back to the system shortly after a full collection, so wait for that too.
     */
    static long settledResidentKb() throws IOException {
        for (int i = 0; i < 2; i++) {
            System.gc();
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return residentKb();
    }

    /** Used and committed Java heap, for the report. */
    static String heap() {
        java.lang.management.MemoryUsage h = java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        return String.format(java.util.Locale.ROOT, "used %.1f MB committed %.1f MB", h.getUsed() / 1048576.0, h.getCommitted() / 1048576.0);
    }

    @Test
    void liveArraysAndResidentMemoryStayFlatOverALongRun() throws IOException {
        int steps = Integer.getInteger("lorapro.soak.steps", 2000);
        assertTrue(steps > 200, "lorapro.soak.steps must exceed 200");
        int threads = TinyModels.singleThread();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = LlamaForCausalLM.random(config(), manager, 11);
            TrainConfig config = TrainConfig.builder()
                    .optMethod(Method.LORA_PRO).optR(4).optAlpha(8).optLr(0.01f).optMaxSteps(steps)
                    .optGlobalBatch(2).optMicroBatch(2).optWarmupRatio(0.01).optMaxSeqLength(SEQ)
                    .optDevice(DeviceChoice.CPU).optLogInterval(1_000_000).setOutputDir(tmp).build();
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model)).setConfig(config).setManager(manager)
                    .setTrainExamples(examples(64)).build()) {
                long start = System.nanoTime();
                engine.runUntil(100);
                int arraysAt100 = manager.getManagedArrays().size();
                engine.runUntil(200);
                long rssAt200 = settledResidentKb();
                String heapAt200 = heap();
                TrainResult result = engine.runUntil(steps);
                int arraysAtEnd = manager.getManagedArrays().size();
                long rssAtEnd = settledResidentKb();
                String heapAtEnd = heap();
                double seconds = (System.nanoTime() - start) / 1e9;
                double[] losses = result.losses();
                System.out.printf("SoakTest: %d steps in %.1f s (%.1f ms/step); live arrays %d at step 100, %d at step %d;"
                                + " VmRSS %.1f MB at step 200, %.1f MB at step %d (growth %+.1f MB); Java heap %s, then %s;"
                                + " loss %.3f -> %.3f%n",
                        steps, seconds, 1000 * seconds / steps, arraysAt100, arraysAtEnd, steps,
                        rssAt200 / 1024.0, rssAtEnd / 1024.0, steps, (rssAtEnd - rssAt200) / 1024.0,
                        heapAt200, heapAtEnd, losses[0], losses[losses.length - 1]);
                assertEquals(steps, result.globalStep());
                assertEquals(0, result.skippedSteps());
                assertEquals(arraysAt100, arraysAtEnd, "live arrays grew between step 100 and step " + steps);
                assertTrue(rssAtEnd - rssAt200 < RSS_BOUND_MB * 1024,
                        "VmRSS grew by " + (rssAtEnd - rssAt200) / 1024 + " MB between step 200 and step " + steps);
            }
        } finally {
            TinyModels.restoreThreads(threads);
        }
    }
}
