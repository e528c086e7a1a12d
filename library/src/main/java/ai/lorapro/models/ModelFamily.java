package ai.lorapro.models;

import ai.lorapro.models.common.ConfigJson;

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
     * Parses the fields of a {@code config.json} whose {@code model_type} is this family's.
     *
     * @param json the parsed file
     * @return the architecture it describes
     * @throws ai.lorapro.InvalidInputException naming the file and field of a bad value
     */
    ModelArchitecture read(ConfigJson json);

    /**
     * Reads a {@code config.json} of this family.
     *
     * @param configFile the file
     * @return the architecture it describes
     * @throws ai.lorapro.InvalidInputException naming the file and field when the file is
     *     unreadable, of another {@code model_type}, or has a bad value
     */
    default ModelArchitecture readConfig(Path configFile) {
        return read(ConfigJson.read(configFile).requireModelType(modelType()));
    }
}
