package ai.lorapro.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

class ProgressReporterTest {

    private static final long SECOND = 1_000_000_000L;

    @Test
    void plainLinesEveryNStepsAndAtTheEnd() {
        AtomicLong clock = new AtomicLong(0);
        List<String> lines = new ArrayList<>();
        ProgressLine line = new ProgressLine(0, 25, clock::get);
        LogProgress progress = new LogProgress(line, 10, lines::add);
        for (int step = 1; step <= 25; step++) {
            clock.addAndGet(2 * SECOND);
            progress.update(step, 1.23456, 2e-5, 1500.4);
        }
        assertEquals(3, lines.size());
        // 10 steps took 20 s, 15 steps remain at 2 s each.
        assertEquals("step 10/25 (40.0%) loss 1.2346 lr 2.000e-05 1500 tok/s elapsed 0:00:20"
                + " eta 0:00:30", lines.get(0));
        assertTrue(lines.get(1).startsWith("step 20/25 (80.0%)"), lines.get(1));
        assertTrue(lines.get(2).endsWith("elapsed 0:00:50 eta 0:00:00"), lines.get(2));
    }

    @Test
    void anImageTaskCountsImagesPerSecond() {
        List<String> lines = new ArrayList<>();
        LogProgress progress = new LogProgress(new ProgressLine(0, 2, () -> 0L, TrainTask.IMAGES), 1, lines::add);
        progress.update(1, 0.5, 1e-4, 12);
        assertTrue(lines.get(0).contains(" 12 img/s "), lines.get(0));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TerminalProgress bar = new TerminalProgress(new ProgressLine(0, 2, () -> 0L, TrainTask.IMAGES),
                new PrintStream(bytes, true, StandardCharsets.UTF_8));
        bar.update(1, 0.5, 1e-4, 12);
        assertTrue(bytes.toString(StandardCharsets.UTF_8).contains(" 12 img/s "), bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void etaCountsOnlyStepsSinceAResume() {
        AtomicLong clock = new AtomicLong(0);
        List<String> lines = new ArrayList<>();
        LogProgress progress = new LogProgress(new ProgressLine(100, 200, clock::get), 50,
                lines::add);
        clock.set(50 * 60 * SECOND);
        progress.update(150, 0.5, 1e-4, 10);
        assertTrue(lines.get(0).endsWith("elapsed 0:50:00 eta 0:50:00"), lines.get(0));
    }

    @Test
    void terminalBarRedrawsInPlace() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        ProgressReporter bar = ProgressReporter.terminal(0, 4, out);
        bar.update(1, 2.0, 1e-3, 100);
        bar.update(4, 1.0, 0, 100);
        bar.finish();
        String text = bytes.toString(StandardCharsets.UTF_8);
        String[] frames = text.split("\r");
        assertEquals(3, frames.length); // leading empty, then two frames
        assertTrue(frames[1].startsWith("[######..................] 1/4 loss 2.0000"), frames[1]);
        assertTrue(frames[2].startsWith("[########################] 4/4 loss 1.0000"), frames[2]);
        assertTrue(text.endsWith(System.lineSeparator()));
    }

    @Test
    void durationFormat() {
        assertEquals("1:01:01", ProgressLine.duration(3661));
        assertEquals("?", ProgressLine.duration(-1));
        assertEquals("?", ProgressLine.duration(Double.NaN));
    }
}
