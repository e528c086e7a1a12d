package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The {@code lorapro} launcher script at the repository's root refuses a JVM it cannot build or run
 * with before it builds anything: exit 2 and what {@code java -version} said. (Its working path,
 * building and running the command line, is what every command in the docs runs.)
 */
class LauncherScriptTest {

    /** The script, from cli/ where the tests run. */
    private static final Path SCRIPT = Paths.get("..", "lorapro").toAbsolutePath().normalize();

    @TempDir Path tmp;

    /** A JAVA_HOME whose bin/java is the shell script {@code body}. */
    private Path fakeJdk(String name, String body) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve(name).resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\n" + body + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin.getParent();
    }

    /** Runs {@code bash lorapro help} with JAVA_HOME set; returns the exit code and stderr. */
    private List<String> launch(Path javaHome) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString(), "help");
        pb.environment().put("JAVA_HOME", javaHome.toString());
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Path err = tmp.resolve("stderr-" + javaHome.getFileName());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher did not finish in 60 s");
        List<String> result = new ArrayList<>();
        result.add(String.valueOf(p.exitValue()));
        result.add(Files.readString(err));
        return result;
    }

    @Test
    void anOldJvmIsRefusedWithWhatItSaid() throws Exception {
        assertTrue(Files.isRegularFile(SCRIPT), SCRIPT.toString());
        List<String> java11 = launch(fakeJdk("jdk11",
                "echo 'openjdk version \"11.0.22\" 2024-01-16' >&2; echo 'OpenJDK Runtime Environment' >&2"));
        assertEquals("2", java11.get(0), java11.get(1));
        assertTrue(java11.get(1).contains("needs Java 17 or later") && java11.get(1).contains("\"11.0.22\""),
                java11.get(1));
        assertTrue(!java11.get(1).contains("building"), "it built before refusing: " + java11.get(1));

        List<String> java8 = launch(fakeJdk("jdk8", "echo 'java version \"1.8.0_402\"' >&2"));
        assertEquals("2", java8.get(0), java8.get(1));
        assertTrue(java8.get(1).contains("needs Java 17 or later") && java8.get(1).contains("1.8.0_402"), java8.get(1));

        // a line before the version's, as JAVA_TOOL_OPTIONS makes a JVM print, is skipped
        List<String> chatty = launch(fakeJdk("chatty",
                "echo 'Picked up JAVA_TOOL_OPTIONS: -Xmx1g' >&2; echo 'openjdk version \"16.0.2\" 2021-07-20' >&2"));
        assertEquals("2", chatty.get(0), chatty.get(1));
        assertTrue(chatty.get(1).contains("needs Java 17 or later"), chatty.get(1));
    }

    @Test
    void aMissingOrFailingJvmIsRefusedWithWhatItSaid() throws Exception {
        List<String> missing = launch(tmp.resolve("no-such-jdk"));
        assertEquals("2", missing.get(0), missing.get(1));
        assertTrue(missing.get(1).contains("-version' failed"), missing.get(1));

        List<String> failing = launch(fakeJdk("broken", "echo 'Error: could not open lib/modules' >&2; exit 1"));
        assertEquals("2", failing.get(0), failing.get(1));
        assertTrue(failing.get(1).contains("-version' failed") && failing.get(1).contains("could not open lib/modules"),
                failing.get(1));
    }
}
