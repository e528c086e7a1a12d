package ai.lorapro;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The library's version, as the build wrote it (the same whether run from a jar or from classes). */
public final class LoraProVersion {

    private static final String RESOURCE = "version.properties";

    private LoraProVersion() {}

    /**
     * The version of this library, e.g. {@code 0.2.0}.
     *
     * @return the Maven project version the library was built as
     * @throws IllegalStateException when the build did not write the version resource
     */
    public static String get() {
        try (InputStream in = LoraProVersion.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("no " + RESOURCE + " beside " + LoraProVersion.class.getName());
            }
            Properties p = new Properties();
            p.load(in);
            String version = p.getProperty("version", "");
            if (version.isEmpty() || version.contains("${")) {
                throw new IllegalStateException(RESOURCE + " was not filtered by the build: " + version);
            }
            return version;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
