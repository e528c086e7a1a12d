package ai.lorapro.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.lorapro.cli.LoraProCli;
import ai.lorapro.io.PeftAdapter;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** {@code lorapro demo} with a tiny budget writes its table, plot and adapters. */
class DemoTest {

    @TempDir
    Path tmp;

    @Test
    void tinyDemoWritesTablePlotAndAdapters() throws IOException {
        CommandLine cli = LoraProCli.commandLine();
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        int code = cli.execute("demo", "--out", tmp.toString(), "--steps", "3", "--pretrain-steps", "2");
        assertEquals(0, code, out.toString());
        String table = Files.readString(tmp.resolve(Demo.TABLE_FILE));
        for (String method : new String[] {"base (no fine-tuning)", "full", "lora", "lora-pro"}) {
            assertTrue(table.contains("| " + method + " |"), table);
            assertTrue(out.toString().contains("| " + method + " |"), out.toString());
        }
        assertTrue(Files.size(tmp.resolve(Demo.PLOT_FILE)) > 0);
        for (String method : new String[] {"lora", "lora-pro"}) {
            Path adapter = tmp.resolve("adapters").resolve(method);
            assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.CONFIG_NAME)), adapter.toString());
            assertTrue(Files.isRegularFile(adapter.resolve(PeftAdapter.WEIGHTS_NAME)), adapter.toString());
        }
    }

    @Test
    void tokenizerRoundTripsTheCorpusAlphabet() {
        CharTokenizer tokenizer = new CharTokenizer();
        String text = "17-9=8";
        assertEquals(text, tokenizer.decode(tokenizer.encode(text)));
        ArithmeticCorpus corpus = new ArithmeticCorpus(tokenizer, 19);
        var split = corpus.subtraction(150, 50, 1);
        assertTrue(split.get(0).stream().noneMatch(p -> split.get(1).stream().anyMatch(q -> q.prompt().equals(p.prompt()))));
        for (var p : split.get(1)) {
            String[] parts = p.prompt().replace("=", "").split("-");
            assertEquals(Integer.parseInt(parts[0]) - Integer.parseInt(parts[1]), Integer.parseInt(p.answer()));
        }
    }
}
