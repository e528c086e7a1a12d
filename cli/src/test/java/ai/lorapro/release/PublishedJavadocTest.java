package ai.lorapro.release;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.spi.ToolProvider;

/**
 * The Javadoc of the two published jars ({@code lorapro} and {@code lorapro-cli}) builds with the
 * parent pom's doclint setting ({@code all,-missing}), as {@code ./mvnw -Prelease verify} needs
 * (docs/release.md): a tag doclint rejects (such as {@code @throws} in a record's class comment)
 * fails here, not at release time. Both run from this module, whose test class path holds every
 * dependency of both.
 */
class PublishedJavadocTest {

    @Test
    void libraryJavadocBuilds(@TempDir Path out) {
        assertJavadocBuilds(Path.of("..", "library", "src", "main", "java"), out);
    }

    @Test
    void cliJavadocBuilds(@TempDir Path out) {
        assertJavadocBuilds(Path.of("src", "main", "java"), out);
    }

    private static void assertJavadocBuilds(Path sources, Path out) {
        assertTrue(Files.isDirectory(sources), sources.toAbsolutePath() + " is not a directory");
        Optional<ToolProvider> javadoc = ToolProvider.findFirst("javadoc");
        assertTrue(javadoc.isPresent(), "this JDK has no javadoc tool");
        StringWriter log = new StringWriter();
        int exit;
        try (PrintWriter writer = new PrintWriter(log)) {
            exit = javadoc.get().run(writer, writer, "-quiet", "--add-modules", "jdk.incubator.vector",
                    "-Xdoclint:all,-missing", "-d", out.toString(), "-cp", System.getProperty("java.class.path"),
                    "-sourcepath", sources.toString(), "-subpackages", "ai.lorapro");
        }
        assertEquals(0, exit, "javadoc of " + sources + " failed:\n" + log);
    }
}
