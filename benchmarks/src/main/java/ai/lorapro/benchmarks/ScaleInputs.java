package ai.lorapro.benchmarks;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import javax.imageio.ImageIO;

/**
 * Synthetic training data for the scale benchmark, long enough that every example fills the
 * sequence length (the random models use a byte tokenizer: one token per byte): JSON lines of
 * text for Llama, an SST-2 TSV for T5, an ImageFolder of noise images for CLIP.
 */
final class ScaleInputs {

    private static final String[] WORDS = {"the", "model", "learns", "a", "low", "rank", "update", "of",
        "every", "matrix", "while", "its", "weights", "stay", "frozen", "and", "small"};

    private ScaleInputs() {}

    /** {@code count} JSON lines of {@code {"text": ...}} with at least {@code chars} characters each. */
    static Path causalText(Path dir, int count, int chars) throws IOException {
        StringBuilder sb = new StringBuilder();
        Random random = new Random(1);
        for (int i = 0; i < count; i++) {
            sb.append("{\"text\": \"").append(sentence(random, chars)).append("\"}\n");
        }
        return write(dir.resolve("train.jsonl"), sb.toString());
    }

    /** An SST-2 {@code train.tsv} (header {@code sentence<TAB>label}) of {@code count} long sentences. */
    static Path sst2(Path dir, int count, int chars) throws IOException {
        StringBuilder sb = new StringBuilder("sentence\tlabel\n");
        Random random = new Random(2);
        for (int i = 0; i < count; i++) {
            sb.append(sentence(random, chars)).append('\t').append(i % 2).append('\n');
        }
        return write(dir.resolve("train.tsv"), sb.toString());
    }

    /** An ImageFolder root with {@code perClass} random {@code size}x{@code size} PNGs in each of two classes. */
    static Path imageFolder(Path dir, int perClass, int size) throws IOException {
        Random random = new Random(3);
        for (String split : new String[] {"train", "test"}) {
            for (String label : new String[] {"stripes", "dots"}) {
                Path classDir = Files.createDirectories(dir.resolve(split).resolve(label));
                for (int i = 0; i < (split.equals("train") ? perClass : 1); i++) {
                    BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
                    for (int y = 0; y < size; y++) {
                        for (int x = 0; x < size; x++) {
                            image.setRGB(x, y, random.nextInt(1 << 24));
                        }
                    }
                    ImageIO.write(image, "png", classDir.resolve(i + ".png").toFile());
                }
            }
        }
        return dir;
    }

    private static String sentence(Random random, int chars) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < chars) {
            sb.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
        }
        return sb.toString().trim();
    }

    private static Path write(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }
}
