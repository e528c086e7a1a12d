package ai.lorapro.tasks.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.function.Predicate;

/**
 * The sandbox's tools are found on the JVM's PATH once ({@link CodeSandbox#onPath}): its commands
 * run with an empty environment, where a tool would look up the next only in /bin and /usr/bin.
 */
class CodeSandboxToolsTest {

    private static final Predicate<Path> NOTHING_HIDDEN = p -> false;

    @TempDir
    Path tmp;

    private Path file(Path dir, String name, boolean executable) throws IOException {
        Path file = Files.writeString(Files.createDirectories(dir).resolve(name), "#!/bin/sh\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(executable ? "rwxr-xr-x" : "rw-r--r--"));
        return file;
    }

    @Test
    void theFirstExecutableInAnAbsoluteDirectoryOfThePathIsUsed() throws IOException {
        Path first = tmp.resolve("first");
        Path second = tmp.resolve("second");
        file(first, "plain", false);
        file(second, "plain", true);
        Path tool = file(second, "tool", true);
        String path = String.join(File.pathSeparator, "", "relative/bin", tmp.resolve("none").toString(),
                first.toString(), second.toString());
        assertEquals(tool.toString(), CodeSandbox.onPath("tool", path, NOTHING_HIDDEN));
        assertEquals(second.resolve("plain").toString(), CodeSandbox.onPath("plain", path, NOTHING_HIDDEN),
                "a file that cannot be executed is passed over");
        assertEquals("missing", CodeSandbox.onPath("missing", path, NOTHING_HIDDEN));
        assertEquals("tool", CodeSandbox.onPath("tool", null, NOTHING_HIDDEN));
    }

    @Test
    void aRelativePathEntryIsNeverUsed() throws IOException {
        file(tmp.resolve("rel"), "tool", true);
        // relative to the working directory, which a user may not control: skipped even when it holds the tool
        Path cwdRelative = Path.of("").toAbsolutePath().relativize(tmp.resolve("rel"));
        assertEquals("tool", CodeSandbox.onPath("tool", cwdRelative.toString(), NOTHING_HIDDEN));
    }

    /** A link (a nix profile's) is used by its real file; a real file the sandbox hides is passed over. */
    @Test
    void aLinkIsUsedByItsRealFileAndAHiddenOneIsPassedOver() throws IOException {
        Path store = tmp.resolve("store");
        Path real = file(store, "tool", true);
        Path profile = Files.createDirectories(tmp.resolve("profile"));
        Files.createSymbolicLink(profile.resolve("tool"), real);
        Path system = tmp.resolve("system");
        Path systemTool = file(system, "tool", true);
        String path = profile + File.pathSeparator + system;
        assertEquals(real.toRealPath().toString(), CodeSandbox.onPath("tool", path, NOTHING_HIDDEN));
        Path storeReal = store.toRealPath();
        assertEquals(systemTool.toRealPath().toString(), CodeSandbox.onPath("tool", path, p -> p.startsWith(storeReal)));
        assertEquals(true, CodeSandbox.isHiddenInSandbox(Path.of("/run/current-system/sw/bin/tool")));
        assertEquals(true, CodeSandbox.isHiddenInSandbox(Path.of(System.getProperty("user.home"), "bin", "tool")));
        assertEquals(false, CodeSandbox.isHiddenInSandbox(Path.of("/nix/store/x-util-linux/bin/prlimit")));
    }
}
