package ai.lorapro.models;

import java.nio.file.Path;

/**
 * One model family of the {@link ModelFamilies} registry, keyed by the {@code model_type} of
 * Hugging Face's {@code config.json}. A family only parses its config; everything else it
 * supplies (construction, loading, sizes, special tokens, generation) hangs off the parsed
 * {@link ModelArchitecture}.
 */
public interface ModelFamily {

    /** The {@code model_type} this family reads, e.g. {@code llama}. */
    String modelType();

    /**
     * Parses a {@code config.json} of this family.
     *
     * @param configFile the file
     * @return the architecture it describes
     * @throws ai.lorapro.InvalidInputException naming the file and field of a bad value
     */
    ModelArchitecture readConfig(Path configFile);
}
