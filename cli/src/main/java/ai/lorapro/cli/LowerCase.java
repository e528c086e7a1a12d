package ai.lorapro.cli;

import picocli.CommandLine.ITypeConverter;

import java.util.Locale;

/**
 * An option value taken in any case, as the library takes names ({@code --task GLUE-SST2} is
 * {@code glue-sst2}): stripped and lower-cased.
 */
final class LowerCase implements ITypeConverter<String> {

    @Override
    public String convert(String value) {
        return value.strip().toLowerCase(Locale.ROOT);
    }
}
