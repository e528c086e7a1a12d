package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.lorapro.data.batch.Example;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

class DefaultTasksTest {

    private static Example ofLength(int n) {
        long[] ids = new long[n];
        return new Example(ids, ids.clone());
    }

    @Test
    void examplesLongerThanThePositionsAreCounted() {
        List<Example> examples = List.of(ofLength(3), ofLength(8), ofLength(9), ofLength(12));
        assertEquals(2, DefaultTasks.warnBeyondPositions(Path.of("d.jsonl"), examples, 8));
        assertEquals(0, DefaultTasks.warnBeyondPositions(Path.of("d.jsonl"), examples, 12));
        assertEquals(0, DefaultTasks.warnBeyondPositions(Path.of("d.jsonl"), examples, Integer.MAX_VALUE));
    }
}
