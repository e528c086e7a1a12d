package ai.lorapro.models.t5;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.InvalidInputException;
import ai.lorapro.models.Decoding;
import ai.lorapro.models.ModelArchitecture;
import ai.lorapro.models.ModelFamily;
import ai.lorapro.models.ModelKind;
import ai.lorapro.models.SpecialTokens;
import ai.lorapro.models.common.ConfigJson;

import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/** The T5 family ({@code model_type: t5}): an encoder-decoder language model. */
public final class T5Family implements ModelFamily {

    /** The {@code model_type} of T5's config.json. */
    public static final String MODEL_TYPE = "t5";

    @Override
    public String modelType() {
        return MODEL_TYPE;
    }

    @Override
    public ModelArchitecture read(ConfigJson json) {
        return new Architecture(T5Config.read(json));
    }

    /**
     * Greedy decoding from encoder inputs: each source ends with EOS (when there is one), the batch
     * is right-padded, and the decoder runs from the config's decoder start token.
     *
     * @param model the model
     * @param manager its manager
     * @param sources each input's ids, EOS included
     * @param maxNewTokens the most tokens to produce per input
     * @return the decoded ids of each input
     */
    public static List<long[]> decode(T5ForConditionalGeneration model, NDManager manager, List<long[]> sources,
            int maxNewTokens) {
        int longest = 0;
        for (long[] s : sources) {
            longest = Math.max(longest, s.length);
        }
        long[][] padded = new long[sources.size()][longest];
        long[][] mask = new long[sources.size()][longest];
        for (int i = 0; i < padded.length; i++) {
            long[] ids = sources.get(i);
            Arrays.fill(padded[i], model.getConfig().padTokenId());
            System.arraycopy(ids, 0, padded[i], 0, ids.length);
            Arrays.fill(mask[i], 0, ids.length, 1);
        }
        return new T5GreedyDecoder(maxNewTokens, true).generate(model, manager, padded, mask);
    }

    /**
     * A T5 configuration as seen by the commands.
     *
     * @param config the parsed config
     */
    public record Architecture(T5Config config) implements ModelArchitecture {

        @Override
        public String modelType() {
            return MODEL_TYPE;
        }

        @Override
        public ModelKind kind() {
            return ModelKind.SEQ_2_SEQ_LM;
        }

        @Override
        public String summary() {
            return String.format(Locale.ROOT, "%d encoder + %d decoder layers, d_model %d, vocab %d",
                    config.numLayers(), config.numDecoderLayers(), config.dModel(), config.vocabSize());
        }

        @Override
        public int vocabSize() {
            return config.vocabSize();
        }

        @Override
        public SpecialTokens specialTokens() {
            return new SpecialTokens(SpecialTokens.NONE, List.of((long) config.eosTokenId()),
                    config.padTokenId());
        }

        @Override
        public Block newModel() {
            return new T5ForConditionalGeneration(config);
        }

        @Override
        public Block newModel(Collection<String> tensorNames) {
            return new T5ForConditionalGeneration(T5ForConditionalGeneration.forCheckpoint(config, tensorNames));
        }

        /** {@inheritDoc} Counted as {@link T5Activations} says. */
        @Override
        public long activationBytes(int microBatch, int sequenceLength, DataType frozenType) {
            return T5Activations.bytes(config, microBatch, sequenceLength, frozenType);
        }

        @Override
        public Predicate<String> ignorableTensors() {
            return T5ForConditionalGeneration::isAlias;
        }

        /** T5 decodes greedily from the encoded prompt; sampling is refused. */
        @Override
        public List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
                Decoding decoding) {
            if (decoding.sampling()) {
                throw new InvalidInputException("t5 models decode greedily here: top-p sampling is not supported");
            }
            long eos = tokens.firstEos();
            List<long[]> sources = prompts.stream().map(text -> {
                if (eos == SpecialTokens.NONE) {
                    return text;
                }
                long[] ids = Arrays.copyOf(text, text.length + 1);
                ids[text.length] = eos;
                return ids;
            }).toList();
            return decode((T5ForConditionalGeneration) model, manager, sources, decoding.maxNewTokens());
        }
    }
}
