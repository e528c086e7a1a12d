package ai.lorapro.models.llama;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.common.Generator;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/** Generation with llama-tiny: KV cache, left padding, stopping and sampling. */
class LlamaGenerationTest {

    private static final long PAD = 0;
    private static final long[] LONG_PROMPT = {59, 5, 60, 34, 94, 23, 35, 6};
    private static final long[] SHORT_PROMPT = {40, 90, 71};

    private static NDManager manager;
    private static LlamaForCausalLM model;

    @BeforeAll
    static void load() {
        manager = NDManager.newBaseManager();
        model = LlamaForCausalLM.fromPretrained(Fixtures.hfTiny().resolve("llama-tiny"), manager, DataType.FLOAT32);
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    /** The two prompts as one batch, the short one left-padded. */
    private static List<long[]> batch(Generator generator) {
        long[][] prompts = {LONG_PROMPT, new long[LONG_PROMPT.length]};
        long[][] mask = {ones(LONG_PROMPT.length), new long[LONG_PROMPT.length]};
        int pad = LONG_PROMPT.length - SHORT_PROMPT.length;
        Arrays.fill(prompts[1], PAD);
        System.arraycopy(SHORT_PROMPT, 0, prompts[1], pad, SHORT_PROMPT.length);
        Arrays.fill(mask[1], pad, LONG_PROMPT.length, 1);
        return generator.generate(model, manager, prompts, mask);
    }

    private static long[] single(Generator generator, long[] prompt) {
        return generator.generate(model, manager, new long[][] {prompt}, new long[][] {ones(prompt.length)}).get(0);
    }

    private static long[] ones(int n) {
        long[] out = new long[n];
        Arrays.fill(out, 1);
        return out;
    }

    private static Generator.Builder greedy() {
        return Generator.builder().optMaxNewTokens(10).optPadTokenId(PAD);
    }

    @Test
    void greedyWithCacheEqualsRecomputingTheSequence() {
        List<long[]> cached = batch(greedy().build());
        List<long[]> recomputed = batch(greedy().optUseCache(false).build());
        assertEquals(10, cached.get(0).length);
        assertArrayEquals(recomputed.get(0), cached.get(0));
        assertArrayEquals(recomputed.get(1), cached.get(1));
    }

    @Test
    void leftPaddedBatchEqualsUnpaddedSingles() {
        List<long[]> batched = batch(greedy().build());
        assertArrayEquals(single(greedy().build(), LONG_PROMPT), batched.get(0));
        assertArrayEquals(single(greedy().build(), SHORT_PROMPT), batched.get(1));
        assertArrayEquals(single(greedy().optUseCache(false).build(), SHORT_PROMPT), batched.get(1));
    }

    @Test
    void rowsStopAtTheirEndOfSequenceToken() {
        long[] free = single(greedy().build(), SHORT_PROMPT);
        long eos = free[3];
        int first = 0;
        while (free[first] != eos) {
            first++;
        }
        long[] stopped = single(greedy().optEosTokenIds(Set.of(eos)).build(), SHORT_PROMPT);
        assertArrayEquals(Arrays.copyOf(free, first + 1), stopped);
        List<long[]> batched = batch(greedy().optEosTokenIds(Set.of(eos)).build());
        assertArrayEquals(stopped, batched.get(1));
    }

    @Test
    void samplingIsSeededAndATinyNucleusIsGreedy() {
        long[] greedyTokens = single(greedy().build(), LONG_PROMPT);
        long[] nucleusOfOne = single(greedy().optSampling(1.0, 1e-9, 3).build(), LONG_PROMPT);
        assertArrayEquals(greedyTokens, nucleusOfOne);
        long[] first = single(greedy().optSampling(1.5, 0.95, 11).build(), LONG_PROMPT);
        long[] again = single(greedy().optSampling(1.5, 0.95, 11).build(), LONG_PROMPT);
        assertArrayEquals(first, again);
        assertTrue(Arrays.stream(first).allMatch(t -> t >= 0 && t < 96));
        boolean differs = false;
        for (long seed = 12; seed < 17 && !differs; seed++) {
            differs = !Arrays.equals(first, single(greedy().optSampling(1.5, 0.95, seed).build(), LONG_PROMPT));
        }
        assertTrue(differs, "hot sampling with other seeds never changed the output");
    }
}
