package ai.lorapro.models.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamily;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.Prompts;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** The Llama family ({@code model_type: llama}): a causal language model. */
public final class LlamaFamily implements ModelFamily {

    @Override
    public String modelType() {
        return "llama";
    }

    @Override
    public ModelArchitecture readConfig(Path configFile) {
        return new Architecture(LlamaConfig.fromJson(configFile));
    }

    /**
     * A Llama configuration as seen by the commands.
     *
     * @param config the parsed config
     */
    public record Architecture(LlamaConfig config) implements ModelArchitecture {

        @Override
        public String modelType() {
            return "llama";
        }

        @Override
        public ModelKind kind() {
            return ModelKind.CAUSAL_LM;
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT, "%d layers, hidden %d, vocab %d", config.getNumHiddenLayers(),
                    config.getHiddenSize(), config.getVocabSize());
        }

        @Override
        public int vocabSize() {
            return config.getVocabSize();
        }

        @Override
        public int maxPositions() {
            return config.getMaxPositionEmbeddings();
        }

        @Override
        public SpecialTokens specialTokens() {
            List<Long> eos = new ArrayList<>();
            config.getEosTokenIds().forEach(id -> eos.add(id.longValue()));
            return new SpecialTokens(config.getBosTokenId() != null ? config.getBosTokenId() : SpecialTokens.NONE,
                    eos, config.getPadTokenId() != null ? config.getPadTokenId() : SpecialTokens.NONE);
        }

        @Override
        public Block newModel() {
            return new LlamaForCausalLM(config);
        }

        @Override
        public Predicate<String> ignorableTensors() {
            return LlamaForCausalLM::ignorable;
        }

        @Override
        public Block load(Path dir, NDManager manager, DataType frozenType) {
            return LlamaForCausalLM.fromPretrained(dir, manager, frozenType);
        }

        @Override
        public List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
                Decoding decoding) {
            return Prompts.continuePrompts((LlamaForCausalLM) model, manager, prompts, tokens, decoding);
        }
    }
}
