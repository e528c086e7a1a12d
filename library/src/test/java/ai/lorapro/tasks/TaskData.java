package ai.lorapro.tasks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Small training files of the paper's tasks, for tests. */
final class TaskData {

    private TaskData() {}

    /** An SST-2 {@code train.tsv} of 8 sentences, alternating positive and negative, in {@code dir}. */
    static Path sst2Train(Path dir) throws IOException {
        Path train = dir.resolve("train.tsv");
        List<String> lines = new ArrayList<>(List.of("sentence\tlabel"));
        String[] words = {"a gripping , funny film", "a dull mess", "wonderful acting", "boring and long"};
        for (int i = 0; i < 8; i++) {
            lines.add(words[i % 4] + "\t" + (i % 2 == 0 ? 1 : 0));
        }
        return Files.write(train, lines);
    }

    /** A MetaMathQA-style {@code metamath.json} of 4 questions in {@code dir}. */
    static Path metamath(Path dir) throws IOException {
        return Files.writeString(dir.resolve("metamath.json"),
                "[{\"query\": \"What is 2+3?\", \"response\": \"2+3=5. The answer is: 5\"},"
                + "{\"query\": \"What is 4*2?\", \"response\": \"4*2=8. The answer is: 8\"},"
                + "{\"query\": \"What is 9-1?\", \"response\": \"9-1=8. The answer is: 8\"},"
                + "{\"query\": \"What is 6/3?\", \"response\": \"6/3=2. The answer is: 2\"}]");
    }
}
