package ai.lorapro.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

/**
 * The {@code lorapro} launcher script at the repository's root refuses a JVM it cannot build or run
 * with before it builds anything (exit 2 and what {@code java -version} said), and lets a Java 17+
 * one through, from JAVA_HOME or, without it, the PATH. The script runs from a copy in a temporary
 * directory, where the build it starts after an accepted JVM fails at once (there is no Maven wrapper
 * there): the repository's own build is never touched. (The script's working path, building and
 * running the command line, is what every command in the docs runs.)
 */
@DisabledOnOs(OS.WINDOWS)
class LauncherScriptTest {

    /** The script, at the root of the repository (the build passes it; the tests run in cli/). */
    private static final Path SCRIPT = Path.of(System.getProperty("lorapro.root", ".."), "lorapro");

    @TempDir Path tmp;

    /** A JAVA_HOME whose bin/java is the shell script {@code body}. */
    private Path fakeJdk(String name, String body) throws IOException {
        Path bin = Files.createDirectories(tmp.resolve(name).resolve("bin"));
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\n" + body + "\n", StandardCharsets.UTF_8);
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin.getParent();
    }

    /** A JAVA_HOME whose java -version prints {@code lines} to stderr, as a JVM does. */
    private Path jdkSaying(String name, String... lines) throws IOException {
        StringBuilder body = new StringBuilder();
        for (String line : lines) {
            body.append("echo '").append(line).append("' >&2\n");
        }
        return fakeJdk(name, body.toString());
    }

    /** What one run of the script printed on stderr, and its exit code. */
    private record Launch(int exitCode, String stderr) {
        boolean refused() {
            return exitCode == 2 && !stderr.contains("building");
        }

        /** Past the check: it went on to build (and failed there, with no Maven wrapper beside it). */
        boolean accepted() {
            return stderr.contains("lorapro: building");
        }
    }

    /** Runs a copy of the script ({@code lorapro help}) with JAVA_HOME set. */
    private Launch launch(Path javaHome) throws IOException, InterruptedException {
        return launch(javaHome, true);
    }

    /**
     * Runs a copy of the script ({@code lorapro help}) with {@code javaHome} as JAVA_HOME, or, when
     * {@code asJavaHome} is false, with no JAVA_HOME and its bin/ first on the PATH.
     */
    private Launch launch(Path javaHome, boolean asJavaHome) throws IOException, InterruptedException {
        assertTrue(Files.isRegularFile(SCRIPT), SCRIPT.toAbsolutePath().toString());
        Path root = Files.createDirectories(tmp.resolve("root-" + javaHome.getFileName() + "-" + asJavaHome));
        Path script = Files.copy(SCRIPT, root.resolve("lorapro"));
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString(), "help");
        if (asJavaHome) {
            pb.environment().put("JAVA_HOME", javaHome.toString());
        } else {
            pb.environment().remove("JAVA_HOME");
            pb.environment().put("PATH", javaHome.resolve("bin") + File.pathSeparator + pb.environment().get("PATH"));
        }
        for (String inherited : new String[] {"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "BASH_ENV", "ENV"}) {
            pb.environment().remove(inherited);
        }
        pb.directory(root.toFile());
        pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Path err = root.resolve("stderr.txt");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the launcher did not finish in 60 s");
        }
        return new Launch(p.exitValue(), Files.readString(err));
    }

    @Test
    void anOldJvmIsRefusedWithWhatItSaid() throws Exception {
        Launch java11 = launch(jdkSaying("jdk11", "openjdk version \"11.0.22\" 2024-01-16", "OpenJDK Runtime Environment"));
        assertTrue(java11.refused() && java11.stderr().contains("needs Java 17 or later")
                && java11.stderr().contains("\"11.0.22\""), java11.toString());
        Launch java8 = launch(jdkSaying("jdk8", "java version \"1.8.0_402\""));
        assertTrue(java8.refused() && java8.stderr().contains("1.8.0_402"), java8.toString());
        Launch java16 = launch(jdkSaying("jdk16", "Picked up JAVA_TOOL_OPTIONS: -Xmx1g", "openjdk version \"16.0.2\" 2021-07-20"));
        assertTrue(java16.refused(), java16.toString());
    }

    @Test
    void java17AndLaterGetPastTheCheck() throws Exception {
        for (String version : new String[] {"openjdk version \"17.0.2\" 2022-01-18", "openjdk version \"21\" 2023-09-19",
                "openjdk version \"25-ea\" 2025-09-16", "java version \"17.0.15\" 2025-04-15 LTS"}) {
            Launch launch = launch(jdkSaying("jdk-" + Integer.toHexString(version.hashCode()), version));
            assertTrue(launch.accepted(), version + ": " + launch);
        }
        // a line before the version's, as JAVA_TOOL_OPTIONS makes a JVM print, is skipped
        Launch chatty = launch(jdkSaying("chatty", "Picked up JAVA_TOOL_OPTIONS: -Xmx1g", "openjdk version \"17.0.15\""));
        assertTrue(chatty.accepted(), chatty.toString());
    }

    /** Without JAVA_HOME the script takes the PATH's java, and checks that one. */
    @Test
    void withoutJavaHomeThePathsJavaIsChecked() throws Exception {
        Launch old = launch(jdkSaying("path-jdk11", "openjdk version \"11.0.22\" 2024-01-16"), false);
        assertTrue(old.refused() && old.stderr().contains("'java -version' says") && old.stderr().contains("11.0.22"),
                old.toString());
        Launch current = launch(jdkSaying("path-jdk17", "openjdk version \"17.0.15\" 2025-04-15"), false);
        assertTrue(current.accepted(), current.toString());
    }

    @Test
    void aMissingOrFailingJvmIsRefusedWithWhatItSaid() throws Exception {
        Launch missing = launch(tmp.resolve("no-such-jdk"));
        assertTrue(missing.refused() && missing.stderr().contains("-version' failed"), missing.toString());
        Launch failing = launch(fakeJdk("broken", "echo 'Error: could not open lib/modules' >&2; exit 1"));
        assertTrue(failing.refused() && failing.stderr().contains("-version' failed")
                && failing.stderr().contains("could not open lib/modules"), failing.toString());
    }
}
