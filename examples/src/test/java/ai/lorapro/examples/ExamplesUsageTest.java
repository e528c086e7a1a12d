package ai.lorapro.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;


import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Consumer;

/** Each task example prints its usage when run without paths. */
class ExamplesUsageTest {

    @Test
    void examplesPrintUsageWithoutArguments() {
        List<Consumer<String[]>> mains = List.of(GlueT5Example::main, InstructionLlamaExample::main,
                ClipImageFolderExample::main, Gsm8kEvalExample::main, HumanEvalExample::main, MtBenchExample::main);
        PrintStream original = System.out;
        for (Consumer<String[]> main : mains) {
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try {
                main.accept(new String[0]);
            } finally {
                System.setOut(original);
            }
            String text = captured.toString(StandardCharsets.UTF_8);
            assertTrue(text.startsWith("usage: ") && text.contains("DIR"), text);
        }
    }
}
