package ai.lorapro.models.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamily;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.ConfigJson;
import ai.lorapro.models.common.Prompts;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** The Llama family ({@code model_type: llama}): a causal language model. */
public final class LlamaFamily implements ModelFamily {

    /** The {@code model_type} of Llama's config.json. */
    public static final String MODEL_TYPE = "llama";

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public ModelArchitecture read(ConfigJson json) {
        return new Architecture(LlamaConfig.read(json));
    }

    /**
     * A Llama configuration as seen by the commands.
     *
     * @param config the parsed config
     */
    public record Architecture(LlamaConfig config) implements ModelArchitecture {

        @Override
        public String modelType() {
            return MODEL_TYPE;
        }

        @Override
        public ModelKind kind() {
            return ModelKind.CAUSAL_LM;
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT, "%d layers, hidden %d, vocab %d", config.numHiddenLayers(),
                    config.hiddenSize(), config.vocabSize());
        }

        @Override
        public int vocabSize() {
            return config.vocabSize();
        }

        @Override
        public int maxPositions() {
            return config.maxPositionEmbeddings();
        }

        @Override
        public SpecialTokens specialTokens() {
            List<Long> eos = new ArrayList<>();
            config.eosTokenIds().forEach(id -> eos.add(id.longValue()));
            return new SpecialTokens(config.bosTokenId() != null ? config.bosTokenId() : SpecialTokens.NONE,
                    eos, config.padTokenId() != null ? config.padTokenId() : SpecialTokens.NONE);
        }

        @Override
        public Block newModel() {
            return new LlamaForCausalLM(config);
        }

        /** {@inheritDoc} Counted as {@link LlamaActivations} says. */
        @Override
        public long activationBytes(int microBatch, int sequenceLength, DataType frozenType) {
            return LlamaActivations.bytes(config, microBatch, sequenceLength, frozenType);
        }

        @Override
        public Predicate<String> ignorableTensors() {
            return LlamaForCausalLM::ignorable;
        }

        @Override
        public List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
                Decoding decoding) {
            return Prompts.continuePrompts((LlamaForCausalLM) model, manager, prompts, tokens, decoding);
        }
    }
}
