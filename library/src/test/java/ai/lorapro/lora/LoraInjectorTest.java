package ai.lorapro.lora;

import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import ai.lorapro.InvalidInputException;
import ai.lorapro.nn.HasOutputHead;
import ai.lorapro.nn.HfBlock;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraInjectorTest {

    /** A miniature decoder layout: attention projections, an MLP and an output head. */
    static final class TinyModel extends HfBlock implements HasOutputHead {
        final Attention attention = module("self_attn", new Attention());
        final Mlp mlp = module("mlp", new Mlp());
        final LoraLinear head = module("lm_head", linear());

        @Override
        public Set<String> outputHeadPaths() {
            return Set.of("lm_head");
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            throw new UnsupportedOperationException("structure only");
        }
    }

    static final class Attention extends HfBlock {
        final LoraLinear q = module("q_proj", linear());
        final LoraLinear v = module("v_proj", linear());

        @Override
        protected NDList forwardInternal(
                ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            throw new UnsupportedOperationException("structure only");
        }
    }

    static final class Mlp extends HfBlock {
        final LoraLinear up = module("up_proj", linear());
        final LoraLinear down = module("down_proj", linear());

        @Override
        protected NDList forwardInternal(
                ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            throw new UnsupportedOperationException("structure only");
        }
    }

    static LoraLinear linear() {
        return LoraLinear.builder().setInFeatures(4).setOutFeatures(4).build();
    }

    private static LoraConfig.Builder config() {
        return LoraConfig.builder().setR(2).setAlpha(4);
    }

    @Test
    void targetsByName() {
        TinyModel model = new TinyModel();
        List<String> adapted = LoraInjector.inject(model, config().optTargetModules("q_proj", "v_proj").build());
        assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj"), adapted);
        assertTrue(model.attention.q.hasAdapter());
        assertFalse(model.mlp.up.hasAdapter());
        assertEquals(Set.of("self_attn.q_proj", "self_attn.v_proj"), LoraInjector.adaptedLayers(model).keySet());
    }

    @Test
    void targetsByRegex() {
        TinyModel model = new TinyModel();
        List<String> adapted = LoraInjector.inject(model, config().optTargetRegex("mlp\\..*_proj").build());
        assertEquals(List.of("mlp.up_proj", "mlp.down_proj"), adapted);
        assertFalse(model.attention.q.hasAdapter());
    }

    @Test
    void allLinearSkipsTheOutputHead() {
        TinyModel model = new TinyModel();
        List<String> adapted = LoraInjector.inject(model, config().build());
        assertEquals(List.of("self_attn.q_proj", "self_attn.v_proj", "mlp.up_proj", "mlp.down_proj"), adapted);
        assertFalse(model.head.hasAdapter());
    }

    @Test
    void anUnknownTargetNameIsRejected() {
        TinyModel model = new TinyModel();
        InvalidInputException e = assertThrows(
                InvalidInputException.class,
                () -> LoraInjector.inject(model, config().optTargetModules("q_proj", "k_proj").build()));
        assertTrue(e.getMessage().contains("k_proj"), e.getMessage());
        // an adapter's saved list: the names that match are adapted, the others only warned about
        assertEquals(List.of(), LoraInjector.adaptedLayers(model).keySet().stream().toList());
        List<String> adapted = LoraInjector.inject(model, config().optTargetModules("q_proj", "k_proj").build(),
                LoraInjector.UnmatchedNames.WARN);
        assertTrue(!adapted.isEmpty() && adapted.stream().allMatch(path -> path.endsWith("q_proj")), adapted.toString());
        // but not when nothing matches
        InvalidInputException none = assertThrows(InvalidInputException.class, () -> LoraInjector.inject(
                new TinyModel(), config().optTargetModules("k_proj").build(), LoraInjector.UnmatchedNames.WARN));
        assertTrue(none.getMessage().contains("k_proj"), none.getMessage());
    }

    @Test
    void aRegexMatchingNothingIsRejected() {
        TinyModel model = new TinyModel();
        assertThrows(
                InvalidInputException.class,
                () -> LoraInjector.inject(model, config().optTargetRegex("encoder\\..*").build()));
    }
}
