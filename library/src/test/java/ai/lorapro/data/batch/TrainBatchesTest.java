package ai.lorapro.data.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

class TrainBatchesTest {

    private static final long PAD = 0;
    private static final long I = Example.IGNORE_INDEX;

    /** Example k has k % 4 + 1 tokens, all 1000 + k, so batches show which examples they hold. */
    private static List<Example> examples(int n) {
        List<Example> list = new ArrayList<>();
        for (int k = 0; k < n; k++) {
            long[] ids = new long[k % 4 + 1];
            Arrays.fill(ids, 1000 + k);
            list.add(new Example(ids, ids));
        }
        return list;
    }

    @Test
    void collatePadsOnTheRight() {
        Example a = new Example(new long[] {5, 6, 7}, new long[] {I, 6, 7});
        Example b = new Example(new long[] {8}, new long[] {8});
        Batch batch = Batch.collate(List.of(a, b), PAD);
        assertEquals(2, batch.batchSize());
        assertEquals(3, batch.seqLength());
        assertArrayEquals(new long[] {5, 6, 7, 8, PAD, PAD}, batch.inputIds());
        assertArrayEquals(new long[] {1, 1, 1, 1, 0, 0}, batch.attentionMask());
        assertArrayEquals(new long[] {I, 6, 7, 8, I, I}, batch.labels());
        assertEquals(4, batch.tokenCount());
        assertEquals(3, batch.supervisedTokenCount());
        try (NDManager manager = NDManager.newBaseManager()) {
            NDList arrays = batch.toNDList(manager);
            assertEquals(3, arrays.size());
            assertEquals(new Shape(2, 3), arrays.get(0).getShape());
            assertEquals(DataType.INT64, arrays.get(1).getDataType());
            assertArrayEquals(batch.labels(), arrays.get(2).toLongArray());
            assertEquals("attention_mask", arrays.get(1).getName());
        }
    }

    @Test
    void stepsSplitIntoMicroBatchesAndNeverSpanEpochs() {
        TrainBatches loader = new TrainBatches(examples(10), 2, 2, 7, true, PAD,
                DataPosition.START);
        assertEquals(List.of(2, 2), sizes(loader.nextStep()));
        assertEquals(new DataPosition(0, 4), loader.position());
        assertEquals(List.of(2, 2), sizes(loader.nextStep()));
        assertEquals(List.of(2), sizes(loader.nextStep()));
        assertEquals(new DataPosition(1, 0), loader.position());
    }

    @Test
    void aStepLargerThanAnIntHoldsTakesTheRestOfTheEpoch() {
        // 2^16 x 2^16 overflows an int to 0 (no batches, stuck at index 0); 2^16 x 2^15 to a negative index
        for (int accumulation : new int[] {1 << 16, 1 << 15}) {
            TrainBatches loader = new TrainBatches(examples(5), 1 << 16, accumulation, 7, true, PAD,
                    DataPosition.START);
            assertEquals(List.of(5), sizes(loader.nextStep()));
            assertEquals(new DataPosition(1, 0), loader.position());
        }
    }

    @Test
    void eachEpochVisitsEveryExampleOnceInASeededOrder() {
        TrainBatches loader = new TrainBatches(examples(10), 3, 1, 7, true, PAD,
                DataPosition.START);
        List<Long> epoch0 = firstIds(loader, 4);
        List<Long> epoch1 = firstIds(loader, 4);
        assertEquals(10, new HashSet<>(epoch0).size());
        assertEquals(new HashSet<>(epoch0), new HashSet<>(epoch1));
        assertNotEquals(epoch0, epoch1, "epochs are reshuffled");
        TrainBatches again = new TrainBatches(examples(10), 3, 1, 7, true, PAD,
                DataPosition.START);
        assertEquals(epoch0, firstIds(again, 4), "same seed, same order");
        TrainBatches otherSeed = new TrainBatches(examples(10), 3, 1, 8, true, PAD,
                DataPosition.START);
        assertNotEquals(epoch0, firstIds(otherSeed, 4));
        TrainBatches inOrder = new TrainBatches(examples(10), 3, 1, 7, false, PAD,
                DataPosition.START);
        assertEquals(List.of(1000L, 1001L, 1002L, 1003L, 1004L, 1005L, 1006L, 1007L, 1008L,
                1009L), firstIds(inOrder, 4));
    }

    @Test
    void resumingFromASavedPositionReplaysTheSameBatches() {
        List<Example> data = examples(11);
        TrainBatches full = new TrainBatches(data, 2, 2, 3, true, PAD, DataPosition.START);
        List<long[]> reference = new ArrayList<>();
        DataPosition saved = null;
        for (int step = 0; step < 9; step++) {
            if (step == 5) {
                saved = full.position();
            }
            for (Batch b : full.nextStep()) {
                reference.add(b.inputIds());
            }
        }
        TrainBatches resumed = new TrainBatches(data, 2, 2, 3, true, PAD, saved);
        List<long[]> replay = new ArrayList<>();
        for (int step = 5; step < 9; step++) {
            for (Batch b : resumed.nextStep()) {
                replay.add(b.inputIds());
            }
        }
        List<long[]> tail = reference.subList(reference.size() - replay.size(), reference.size());
        for (int i = 0; i < replay.size(); i++) {
            assertArrayEquals(tail.get(i), replay.get(i), "batch " + i);
        }
        assertEquals(full.position(), resumed.position());
    }

    @Test
    void sequentialBatchesKeepFileOrder() {
        List<Batch> batches = TrainBatches.sequential(examples(5), 2, PAD);
        assertEquals(List.of(2, 2, 1), sizes(batches));
        assertEquals(1004L, batches.get(2).inputIds()[0]);
    }

    @Test
    void rejectsBadPositions() {
        assertThrows(InvalidInputException.class, () -> new TrainBatches(examples(3), 1, 1,
                0, true, PAD, new DataPosition(0, 3)));
        assertThrows(IllegalArgumentException.class, () -> new DataPosition(-1, 0));
    }

    private static List<Integer> sizes(List<Batch> batches) {
        return batches.stream().map(Batch::batchSize).toList();
    }

    /** The first id of every example in the next {@code steps} steps, in order. */
    private static List<Long> firstIds(TrainBatches loader, int steps) {
        List<Long> ids = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            for (Batch b : loader.nextStep()) {
                long[] flat = b.inputIds();
                for (int row = 0; row < b.batchSize(); row++) {
                    ids.add(flat[row * b.seqLength()]);
                }
            }
        }
        return ids;
    }

    @Test
    void epochOrderIsAPermutation() {
        int[] order = EpochOrder.of(50, 11, 2, true);
        Set<Integer> seen = new HashSet<>();
        for (int i : order) {
            seen.add(i);
        }
        assertEquals(50, seen.size());
        assertArrayEquals(order, EpochOrder.of(50, 11, 2, true));
    }
}
