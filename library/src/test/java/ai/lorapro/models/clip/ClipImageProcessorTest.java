package ai.lorapro.models.clip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;
import java.util.Random;

class ClipImageProcessorTest {

    private static BufferedImage randomImage(int width, int height, long seed) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Random random = new Random(seed);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                image.setRGB(x, y, random.nextInt(1 << 24));
            }
        }
        return image;
    }

    @Test
    void resizeAndCropGeometryFollowTransformers() {
        // 480x640 (h x w): shortest side 224, longer int(224 * 640 / 480) = 298
        assertArrayEquals(new int[] {224, 298}, ClipImageProcessor.resizedSize(480, 640, 224));
        assertArrayEquals(new int[] {298, 224}, ClipImageProcessor.resizedSize(640, 480, 224));
        assertArrayEquals(new int[] {224, 224}, ClipImageProcessor.resizedSize(500, 500, 224));
        // int(224 * 333 / 250) = 298.3 -> 298
        assertArrayEquals(new int[] {224, 298}, ClipImageProcessor.resizedSize(250, 333, 224));
        assertArrayEquals(new int[] {0, 37}, ClipImageProcessor.cropBox(224, 298, 224));
        assertArrayEquals(new int[] {3, 0}, ClipImageProcessor.cropBox(231, 224, 224));
        assertThrows(IllegalArgumentException.class, () -> ClipImageProcessor.cropBox(100, 300, 224));
    }

    @Test
    void imageOfTheTargetSizeIsOnlyRescaledAndNormalised() {
        int size = 32;
        BufferedImage source = randomImage(size, size, 1);
        Image image = ImageFactory.getInstance().fromImage(source);
        ClipImageProcessor processor = ClipImageProcessor.builder().optSize(size, size).build();
        try (NDManager manager = NDManager.newBaseManager()) {
            NDArray pixels = processor.process(image, manager);
            assertEquals(new Shape(3, size, size), pixels.getShape());
            float[] values = pixels.toFloatArray();
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    int rgb = source.getRGB(x, y);
                    int[] channels = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
                    for (int c = 0; c < 3; c++) {
                        float expected = (channels[c] / 255f - ClipImageProcessor.CLIP_MEAN[c]) / ClipImageProcessor.CLIP_STD[c];
                        assertEquals(expected, values[(c * size + y) * size + x], 1e-5f, "pixel " + c + "," + y + "," + x);
                    }
                }
            }
        }
    }

    @Test
    void resizingAConstantImageKeepsItsColourAndCropsToTheTarget() {
        BufferedImage source = new BufferedImage(90, 50, BufferedImage.TYPE_INT_RGB);
        int r = 200;
        int g = 30;
        int b = 120;
        for (int y = 0; y < 50; y++) {
            for (int x = 0; x < 90; x++) {
                source.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        ClipVisionConfig vision =
                new ClipVisionConfig(ClipVisionConfig.DEFAULTS, 32, 8, 3);
        ClipImageProcessor processor = ClipImageProcessor.forVision(vision);
        try (NDManager manager = NDManager.newBaseManager()) {
            Image image = ImageFactory.getInstance().fromImage(source);
            NDArray batch = processor.process(List.of(image, image), manager);
            assertEquals(new Shape(2, 3, 32, 32), batch.getShape());
            float[] values = batch.toFloatArray();
            int[] channels = {r, g, b};
            for (int i = 0; i < values.length; i++) {
                int c = (i / (32 * 32)) % 3;
                float expected = (channels[c] / 255f - ClipImageProcessor.CLIP_MEAN[c]) / ClipImageProcessor.CLIP_STD[c];
                assertEquals(expected, values[i], 1e-5f, "value " + i);
            }
        }
    }

    @Test
    void rejectsBadSettings() {
        assertThrows(IllegalArgumentException.class, () -> ClipImageProcessor.builder().optSize(224, 300).build());
        assertThrows(IllegalArgumentException.class,
                () -> ClipImageProcessor.builder().optNormalization(new float[] {0.5f}, new float[] {0f}).build());
    }
}
