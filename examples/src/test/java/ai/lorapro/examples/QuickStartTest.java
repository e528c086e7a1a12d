package ai.lorapro.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Keeps the README's quick start running, and learning. */
class QuickStartTest {

    @Test
    void quickStartTrainsAndTheLossFalls() {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            QuickStart.main(new String[0]);
        } finally {
            System.setOut(original);
        }
        String output = captured.toString(StandardCharsets.UTF_8);
        original.print(output);
        Matcher m = Pattern.compile("loss (\\S+)").matcher(output);
        List<Double> losses = new ArrayList<>();
        while (m.find()) {
            losses.add(Double.parseDouble(m.group(1)));
        }
        assertEquals(20, losses.size(), output);
        double last = losses.get(losses.size() - 1);
        assertTrue(Double.isFinite(last), output);
        assertTrue(last < losses.get(0), "loss did not fall: " + output);
    }
}
