package ai.lorapro.cli;

import ai.lorapro.train.BatchConfig;

import picocli.CommandLine.Option;

import java.util.Map;

/** {@code --max-seq-length}: the token limit of an example; shared by {@code train} and {@code eval}. */
final class MaxSeqLengthOption implements FieldOptions {

    @Option(names = "--max-seq-length", paramLabel = "N",
            description = "Truncate examples to N tokens (default: ${DEFAULT-VALUE}).")
    int maxSeqLength = BatchConfig.DEFAULTS.maxSeqLength();

    @Override
    public Map<String, String> flags() {
        return Map.of("max_seq_length", "--max-seq-length");
    }
}
