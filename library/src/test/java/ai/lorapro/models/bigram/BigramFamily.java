package ai.lorapro.models.bigram;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamily;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.ConfigJson;
import ai.lorapro.models.common.Prompts;

import java.util.List;
import java.util.Locale;

/**
 * A fourth model family that lives in the test sources only ({@code model_type: bigram}): it proves
 * that a family needs one package and one {@code ModelFamilies.register} line, nothing in the
 * commands or the training engine.
 */
public final class BigramFamily implements ModelFamily {

    @Override
    public String modelType() {
        return "bigram";
    }

    @Override
    public ModelArchitecture read(ConfigJson json) {
        return new Architecture(json.requiredInt("vocab_size"), json.requiredInt("hidden_size"),
                json.optInt("eos_token_id", 2));
    }

    /**
     * A bigram configuration.
     *
     * @param vocabSize {@code vocab_size}
     * @param hiddenSize {@code hidden_size}
     * @param eosTokenId {@code eos_token_id}
     */
    public record Architecture(int vocabSize, int hiddenSize, int eosTokenId) implements ModelArchitecture {

        @Override
        public String modelType() {
            return "bigram";
        }

        @Override
        public ModelKind kind() {
            return ModelKind.CAUSAL_LM;
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT, "hidden %d, vocab %d", hiddenSize, vocabSize);
        }

        @Override
        public SpecialTokens specialTokens() {
            return new SpecialTokens(SpecialTokens.NONE, List.of((long) eosTokenId), SpecialTokens.NONE);
        }

        @Override
        public Block newModel() {
            return new BigramLm(vocabSize, hiddenSize);
        }

        @Override
        public List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
                Decoding decoding) {
            return Prompts.continuePrompts((BigramLm) model, manager, prompts, tokens, decoding);
        }
    }
}
