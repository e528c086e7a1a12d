package ai.lorapro.models.t5;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.lorapro.models.Fixtures;

import org.junit.jupiter.api.Test;

import java.util.List;

/** Greedy decoding: cached and recomputed steps agree, and each token is the arg-max of a full pass. */
class T5GenerationTest {

    private static final long[][] INPUTS = {{80, 62, 54, 5, 75, 71, 28, 1}, {74, 68, 62, 54, 1, 0, 0, 0}};
    private static final long[][] MASK = {{1, 1, 1, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0, 0, 0}};

    @Test
    void cachedDecodingEqualsRecomputationAndTeacherForcedArgmax() {
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration model =
                    T5ForConditionalGeneration.fromPretrained(Fixtures.hfTiny().resolve("t5-tiny-gated"), manager);
            List<long[]> cached = new T5GreedyDecoder(6, true).generate(model, manager, INPUTS, MASK);
            List<long[]> recomputed = new T5GreedyDecoder(6, false).generate(model, manager, INPUTS, MASK);
            assertEquals(2, cached.size());
            for (int b = 0; b < 2; b++) {
                assertArrayEquals(recomputed.get(b), cached.get(b));
                assertTrue(cached.get(b).length >= 1 && cached.get(b).length <= 6);
            }
            // row 0 alone, teacher-forced on its own output: every position's arg-max is the next token
            long[] row = cached.get(0);
            long[] decoderInput = new long[row.length];
            decoderInput[0] = model.getConfig().decoderStartTokenId();
            System.arraycopy(row, 0, decoderInput, 1, row.length - 1);
            ParameterStore store = new ParameterStore(manager, false);
            NDArray ids = manager.create(INPUTS[0], new Shape(1, INPUTS[0].length));
            NDArray hidden = model.encode(store, ids, null, false);
            NDArray logits = model.decode(store, manager.create(decoderInput, new Shape(1, row.length)), hidden, null, null, false);
            assertArrayEquals(row, logits.get(new NDIndex("0")).argMax(-1).toLongArray());
        }
    }

    @Test
    void rowsStopAtEndOfSequence() {
        try (NDManager manager = NDManager.newBaseManager()) {
            T5ForConditionalGeneration model =
                    T5ForConditionalGeneration.fromPretrained(Fixtures.hfTiny().resolve("t5-tiny"), manager);
            List<long[]> out = new T5GreedyDecoder(12, true).generate(model, manager, INPUTS, MASK);
            long eos = model.getConfig().eosTokenId();
            for (long[] row : out) {
                for (int i = 0; i < row.length - 1; i++) {
                    assertTrue(row[i] != eos, "a row continues after its end-of-sequence token");
                }
            }
        }
    }

    @Test
    void rejectsNonPositiveLength() {
        assertThrows(IllegalArgumentException.class, () -> new T5GreedyDecoder(0, true));
    }
}
