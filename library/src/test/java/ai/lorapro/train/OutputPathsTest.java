package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.InvalidInputException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class OutputPathsTest {

    @TempDir
    Path root;

    @Test
    void plainNameResolvesInsideTheRoot() {
        Path p = OutputPaths.resolveChild(root, "run-1.lora_pro", "--run-name");
        assertEquals(root.toAbsolutePath().normalize().resolve("run-1.lora_pro"), p);
        assertEquals(root.toAbsolutePath().normalize(), p.getParent());
    }

    @Test
    void refusesNamesThatEscape() {
        for (String bad : new String[] {"", " ", ".", "..", "../x", "a/b", "/etc", "a\\b",
                "..\\x", "C:x", "x\0y"}) {
            InvalidInputException e = assertThrows(InvalidInputException.class,
                    () -> OutputPaths.resolveChild(root, bad, "--run-name"), "name: " + bad);
            assertTrue(e.getMessage().startsWith("--run-name"), e.getMessage());
        }
        assertThrows(InvalidInputException.class,
                () -> OutputPaths.resolveChild(root, null, "--run-name"));
    }

    @Test
    void dotsInsideANameAreFine() {
        assertEquals("..hidden", OutputPaths.resolveChild(root, "..hidden", "n")
                .getFileName().toString());
    }
}
