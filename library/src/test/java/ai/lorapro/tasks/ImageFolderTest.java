package ai.lorapro.tasks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.clip.ClipModel;
import ai.lorapro.tasks.vision.ImageClassification;
import ai.lorapro.tasks.vision.ImageFolder;
import ai.lorapro.tasks.vision.ImageRecord;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import javax.imageio.ImageIO;

/** ImageFolder datasets written with ImageIO, including a corrupt image and an unknown class. */
class ImageFolderTest {

    @TempDir
    Path root;

    /** Writes a random 40x36 image (the processor resizes and crops it to 32x32). */
    static void image(Path file, long seed, String format) throws Exception {
        Files.createDirectories(file.getParent());
        Random random = new Random(seed);
        BufferedImage image = new BufferedImage(40, 36, BufferedImage.TYPE_INT_RGB);
        Color base = new Color(random.nextInt(256), random.nextInt(256), random.nextInt(256));
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                image.setRGB(x, y, base.getRGB() ^ random.nextInt(64));
            }
        }
        ImageIO.write(image, format, file.toFile());
    }

    /** A two-class folder: train has two images per class, test one plus the given extras. */
    static void twoClassFolder(Path root) throws Exception {
        image(root.resolve("train/golden_retriever/a.png"), 1, "png");
        image(root.resolve("train/golden_retriever/b.jpg"), 2, "jpg");
        image(root.resolve("train/tabby_cat/c.png"), 3, "png");
        image(root.resolve("train/tabby_cat/d.png"), 4, "png");
        image(root.resolve("test/golden_retriever/e.png"), 5, "png");
        image(root.resolve("test/tabby_cat/f.jpeg"), 6, "jpg");
        Files.writeString(root.resolve("train/tabby_cat/notes.txt"), "not an image");
    }

    @BeforeEach
    void layout() throws Exception {
        twoClassFolder(root);
    }

    @Test
    void classesComeFromTrainFoldersWithSpacesInPrompts() {
        List<String> classes = ImageFolder.classesOf(root.resolve("train"));
        ImageFolder train = ImageFolder.scan(root.resolve("train"), classes, BadRecords.fail());
        assertEquals(List.of("golden_retriever", "tabby_cat"), train.classes());
        assertEquals(List.of("golden retriever", "tabby cat"), train.classNames());
        assertEquals(List.of(0, 0, 1, 1), train.images().stream().map(ImageRecord::label).toList());
        List<Example> examples = ImageClassification.examples(train.images());
        assertEquals(3, examples.get(3).inputId(0));
        assertEquals(1, examples.get(3).label(0));
    }

    @Test
    void corruptImageAndUnknownClassFailNamingTheFileOrAreSkipped() throws Exception {
        Path corrupt = root.resolve("test/tabby_cat/broken.jpg");
        byte[] bytes = Files.readAllBytes(root.resolve("test/tabby_cat/f.jpeg"));
        Files.write(corrupt, java.util.Arrays.copyOf(bytes, 40));
        Path garbage = root.resolve("test/golden_retriever/garbage.png");
        Files.writeString(garbage, "definitely not a png");
        image(root.resolve("test/zebra/z.png"), 7, "png");
        List<String> classes = ImageFolder.classesOf(root.resolve("train"));
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> ImageFolder.scan(root.resolve("test"), classes, BadRecords.fail()));
        assertTrue(e.getMessage().startsWith(garbage + ": "), e.getMessage());
        BadRecords skip = BadRecords.skip();
        ImageFolder test = ImageFolder.scan(root.resolve("test"), classes, skip);
        assertEquals(2, test.images().size());
        assertEquals(3, test.skipped());
        Path onlyZebra = root.resolve("zebra-only");
        image(onlyZebra.resolve("zebra/z.png"), 8, "png");
        InvalidInputException z = assertThrows(InvalidInputException.class,
                () -> ImageFolder.scan(onlyZebra, classes, BadRecords.fail()));
        assertTrue(z.getMessage().startsWith(onlyZebra.resolve("zebra/z.png") + ": class \"zebra\""), z.getMessage());
    }

    /** A small PNG that declares 30000 x 30000 pixels (3.6 GB decoded) is refused by its header, naming the file. */
    @Test
    void anImageDeclaringTooManyPixelsIsRefusedBeforeDecoding() throws Exception {
        Path small = root.resolve("small.png");
        image(small, 5, "png");
        byte[] png = Files.readAllBytes(small);
        // IHDR: length (4), type (4), width (4), height (4), ... then a CRC of type and data
        java.nio.ByteBuffer header = java.nio.ByteBuffer.wrap(png);
        header.putInt(16, 30000).putInt(20, 30000);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(png, 12, 17);
        header.putInt(29, (int) crc.getValue());
        Path bomb = Files.write(root.resolve("bomb.png"), png);
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> ImageFolder.read(bomb));
        assertTrue(e.getMessage().contains(bomb.toString()) && e.getMessage().contains("30000 x 30000 pixels"),
                e.getMessage());
        assertEquals(ImageFolder.read(small).getWidth(), ImageIO.read(small.toFile()).getWidth());
    }

    @Test
    void zeroShotClassifierAccuracyIsWritten() {
        Path dir = Fixtures.hfTiny().resolve("clip-tiny");
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel clip = ClipModel.fromPretrained(dir, manager);
            List<String> classes = ImageFolder.classesOf(root.resolve("train"));
            // clip-tiny has 96 token ids, 16 positions and end-of-text id 95: the class-name
            // characters of each prompt, folded into range, stand in for its tokens
            ClipImageClassifier classifier = ClipImageClassifier.zeroShot(clip, prompt -> {
                String name = prompt.substring("a photo of a ".length());
                int n = Math.min(name.length(), 14);
                long[] ids = new long[n + 1];
                for (int i = 0; i < n; i++) {
                    ids[i] = name.charAt(i) % 90;
                }
                ids[n] = 95;
                return ids;
            }, ImageFolder.promptNames(classes), manager);
            ClipImageProcessor processor = ClipImageProcessor.forVision(clip.getConfig().vision());
            List<ImageRecord> images = new ArrayList<>(ImageFolder.scan(root.resolve("train"), classes, BadRecords.fail()).images());
            images.addAll(ImageFolder.scan(root.resolve("test"), classes, BadRecords.fail()).images());
            ImageClassification.Result batched = ImageClassification.evaluate(classifier, images, processor, manager, 4);
            ImageClassification.Result single = ImageClassification.evaluate(classifier, images, processor, manager, 1);
            assertEquals(java.util.Arrays.toString(single.predicted()), java.util.Arrays.toString(batched.predicted()));
            int expected = 0;
            ParameterStore store = new ParameterStore(manager, false);
            for (ImageRecord image : images) {
                try (NDManager scratch = manager.newSubManager()) {
                    long best = classifier.forward(store, ImageClassification.pixels(List.of(image), processor, scratch), false)
                            .argMax(1).getLong(0);
                    expected += best == image.label() ? 1 : 0;
                }
            }
            assertEquals(expected, batched.correct());
            Path out = root.resolve("eval");
            batched.write(out, classes, Map.of("skipped", 0));
            JsonObject metrics = JsonParser.parseString(readString(out.resolve(TaskOutputs.METRICS_FILE))).getAsJsonObject();
            assertEquals((double) expected / images.size(), metrics.get("accuracy").getAsDouble(), 1e-12);
            assertEquals(images.size(), metrics.get("total").getAsInt());
        }
    }

    private static String readString(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
    }
}
