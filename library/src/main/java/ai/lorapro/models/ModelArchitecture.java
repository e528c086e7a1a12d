package ai.lorapro.models;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.nn.Block;
import ai.lorapro.io.HfCheckpoint;
import ai.lorapro.io.TensorSource;
import ai.lorapro.lora.LoraConfig;
import ai.lorapro.models.common.CheckpointLoader;
import ai.lorapro.models.common.LoraSizes;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;

/**
 * A parsed {@code config.json} of one {@link ModelFamily}: what every command needs to know about
 * the model without knowing its family. Construction is cheap (no weights are created), so sizes
 * come from the module tree itself.
 */
public interface ModelArchitecture {

    /** The family's {@code model_type}. */
    String modelType();

    /** What the model computes; decides the default training task and the PEFT task type. */
    ModelKind kind();

    /** A one-line description of the sizes, e.g. {@code 2 layers, hidden 64, vocab 96}. */
    String summary();

    /** The rows of the token embedding: a tokenizer must not produce larger ids. */
    int vocabSize();

    /**
     * The longest sequence (prompt and generated tokens) the model has positions for: {@code
     * max_position_embeddings} where positions are learned or rotary; unbounded where they are relative.
     */
    default int maxPositions() {
        return Integer.MAX_VALUE;
    }

    /** The special tokens that config.json names (a tokenizer may override them). */
    SpecialTokens specialTokens();

    /**
     * The LoRA target modules used when none are given ({@link LoraConfig#ALL_LINEAR} for language
     * models).
     */
    default List<String> defaultLoraTargets() {
        return List.of(LoraConfig.ALL_LINEAR);
    }

    /** A model of this architecture whose parameters hold no arrays yet (shapes only). */
    Block newModel();

    /**
     * The model that a checkpoint holding {@code tensorNames} loads into (shapes only); the same as
     * {@link #newModel()} unless the family adapts to what the checkpoint stores.
     */
    default Block newModel(Collection<String> tensorNames) {
        return newModel();
    }

    /** Checkpoint tensors the model may leave unused (stale buffers of old exports). */
    default Predicate<String> ignorableTensors() {
        return name -> false;
    }

    /**
     * Loads a checkpoint directory of this architecture (the weights of {@code model.safetensors}, or
     * the shards of {@code model.safetensors.index.json}; this architecture is its config).
     *
     * @param dir the directory (config.json, *.safetensors)
     * @param manager where the weights live
     * @param frozenType FLOAT32 or FLOAT16 for the base weights
     * @return the model, ready for adapters
     * @throws ai.lorapro.io.CheckpointFormatException for a missing, unexpected or misshapen tensor
     */
    default Block load(Path dir, NDManager manager, DataType frozenType) {
        try (HfCheckpoint source = HfCheckpoint.open(dir)) {
            return load(source, dir.toString(), manager, frozenType);
        }
    }

    /**
     * Builds the model for the tensors of {@code source} ({@link #newModel(Collection)}) and fills it
     * through {@link CheckpointLoader}: every parameter must be found and every tensor used, except
     * the {@link #ignorableTensors()}.
     *
     * @param source the checkpoint's tensors
     * @param sourceName how to name the checkpoint in error messages
     * @param manager where the weights live
     * @param frozenType FLOAT32 or FLOAT16 for the base weights
     * @return the model, ready for adapters
     * @throws ai.lorapro.io.CheckpointFormatException for a missing, unexpected or misshapen tensor
     */
    default Block load(TensorSource source, String sourceName, NDManager manager, DataType frozenType) {
        Block model = newModel(source.names());
        CheckpointLoader.load(model, source, sourceName, manager, frozenType, ignorableTensors());
        return model;
    }

    /**
     * What {@code generate} means for this family, run on a batch of prompts.
     *
     * @param model a model {@link #load} returned (adapters may have been added)
     * @param manager the model's manager
     * @param prompts each prompt's token ids without special tokens, each non-empty
     * @param tokens the special tokens to use (the config's, overridden by the tokenizer's)
     * @param decoding greedy or sampling, and the length
     * @return the generated ids of each prompt
     * @throws ai.lorapro.InvalidInputException when the family does not generate text, or not in
     *     the way asked
     */
    List<long[]> generate(Block model, NDManager manager, List<long[]> prompts, SpecialTokens tokens,
            Decoding decoding);

    /**
     * The model as its training adapts it (shapes only), with the module paths that LoRA targets
     * match: {@link #newModel()}, unless the family trains another model built on it (CLIP: the
     * image classifier on its vision tower).
     */
    default Block adaptedModel() {
        return newModel();
    }

    /** What {@code lora} costs on this model, from the shapes of the linear layers of {@link #adaptedModel()}. */
    default LoraSizes loraSizes(LoraConfig lora) {
        return LoraSizes.of(adaptedModel(), lora);
    }

    /**
     * The bytes of activations that the backward pass of one micro-batch keeps (float32
     * activations; an estimate, where the other parts of a run's memory are exact counts). A family
     * counts what its own blocks keep; this default, for a family that does not, counts the input
     * and the output that every linear layer of {@link #newModel()} keeps for its gradients:
     *
     * <pre>  4 B T sum over linear layers (in + out)</pre>
     *
     * <p>for B sequences of T tokens. It leaves out attention scores, norms and activations, so it
     * is a lower bound for a transformer, and it adds nothing for float16 base weights.
     *
     * @param microBatch the sequences (or images) of one forward pass
     * @param sequenceLength the tokens of each sequence
     * @param frozenType FLOAT32, or FLOAT16 for float16 base weights (which a family may widen or
     *     recompute)
     * @return the estimate in bytes, growing with the batch and the length
     */
    default long activationBytes(int microBatch, int sequenceLength, DataType frozenType) {
        long valuesPerToken = 0;
        for (long[] shape : LoraSizes.linearShapes(newModel()).values()) {
            valuesPerToken += shape[0] + shape[1];
        }
        return 4L * microBatch * sequenceLength * valuesPerToken;
    }

    /** The number of base-model parameters. */
    default long baseParameters() {
        return CheckpointLoader.parameterCount(newModel());
    }
}
