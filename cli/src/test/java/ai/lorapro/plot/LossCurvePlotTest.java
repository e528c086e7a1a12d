package ai.lorapro.plot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import javax.imageio.ImageIO;

class LossCurvePlotTest {

    @TempDir
    Path dir;

    @Test
    void writesAValidPngOfTheRequestedSize() throws Exception {
        double[] steps = {1, 2, 3, 4, 5};
        Path file = dir.resolve("plots/loss.png");
        new LossCurvePlot("loss", 640, 360)
                .addSeries("full", steps, new double[] {3, 2.5, 2.1, 1.9, 1.8})
                .addSeries("lora", steps, new double[] {3, 2.8, 2.6, 2.5, 2.4})
                .addSeries("lora-pro", steps, new double[] {3, 2.6, Double.NaN, 2.0, 1.9})
                .writePng(file);
        byte[] bytes = Files.readAllBytes(file);
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        for (int i = 0; i < signature.length; i++) {
            assertEquals(signature[i], bytes[i], "PNG signature byte " + i);
        }
        BufferedImage image = ImageIO.read(file.toFile());
        assertNotNull(image);
        assertEquals(640, image.getWidth());
        assertEquals(360, image.getHeight());
        try (Stream<Path> files = Files.list(file.getParent())) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void overwritesAnExistingPlot() throws Exception {
        Path file = dir.resolve("loss.png");
        Files.writeString(file, "old");
        new LossCurvePlot("t", 200, 100).addSeries("a", new double[] {1, 2},
                new double[] {1, 0.5}).writePng(file);
        assertEquals(200, ImageIO.read(file.toFile()).getWidth());
    }

    @Test
    void aRunWithNoFinitePointStillPlots() throws Exception {
        Path file = dir.resolve("diverged.png");
        new LossCurvePlot("t", 300, 200)
                .addSeries("lora-pro", new double[] {1, 2}, new double[] {Double.NaN,
                    Double.POSITIVE_INFINITY})
                .writePng(file);
        assertEquals(300, ImageIO.read(file.toFile()).getWidth());
    }

    @Test
    void rejectsMismatchedOrDuplicateSeries() {
        LossCurvePlot plot = new LossCurvePlot("t", 200, 100);
        assertThrows(IllegalArgumentException.class,
                () -> plot.addSeries("a", new double[] {1}, new double[] {1, 2}));
        plot.addSeries("a", new double[] {1}, new double[] {1});
        assertThrows(IllegalArgumentException.class,
                () -> plot.addSeries("a", new double[] {1}, new double[] {1}));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new LossCurvePlot("t", 10, 10)).getMessage().contains("10x10"));
    }
}
