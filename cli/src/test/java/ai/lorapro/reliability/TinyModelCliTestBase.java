package ai.lorapro.reliability;

import ai.lorapro.train.TinyModels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the command-line tests of this package share: the tiny Llama saved once per class, eight
 * lines of data for it, a matching PEFT adapter, and PyTorch on one thread for the class.
 */
abstract class TinyModelCliTestBase {

    @TempDir
    static Path shared;

    static Path model;
    static Path data;
    static Path adapter;
    private static int threads;

    @BeforeAll
    static void saveTinyModel() throws IOException {
        threads = TinyModels.singleThread();
        model = TinyHfModel.save(shared.resolve("model"));
        data = Files.writeString(shared.resolve("train.jsonl"), TinyHfModel.jsonl(8, 1), StandardCharsets.UTF_8);
        adapter = TinyHfModel.adapter(shared.resolve("adapter"), model);
    }

    @AfterAll
    static void restoreThreads() {
        TinyModels.restoreThreads(threads);
    }
}
