package ai.lorapro.tasks.vision;

import ai.lorapro.InvalidInputException;
import ai.lorapro.tasks.BadRecords;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * An image-classification dataset in torchvision's ImageFolder layout: {@code root/train/<class>/
 * *.jpg|jpeg|png} and {@code root/test/<class>/...}. The classes are the folder names of the
 * training split, sorted; a test folder outside that set is a label outside the class set. Every
 * image is decoded once while scanning, so a corrupt or unreadable file is found up front (and
 * either fails naming the file or is skipped and counted). Other files are ignored.
 */
public final class ImageFolder {

    /** The most pixels an image may declare: 256 megapixels (about 1 GB decoded), above any camera's. */
    static final long MAX_PIXELS = 256L << 20;


    private final List<String> classes;
    private final List<ImageRecord> images;
    private final int skipped;

    private ImageFolder(List<String> classes, List<ImageRecord> images, int skipped) {
        this.classes = List.copyOf(classes);
        this.images = List.copyOf(images);
        this.skipped = skipped;
    }

    /**
     * The class folder names of a split directory, sorted.
     *
     * @throws InvalidInputException if the directory is missing or has no class folder
     */
    public static List<String> classesOf(Path splitDir) {
        List<String> classes = new ArrayList<>();
        try (Stream<Path> children = Files.list(splitDir)) {
            children.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().forEach(classes::add);
        } catch (NoSuchFileException e) {
            throw new InvalidInputException(splitDir + ": no such directory");
        } catch (IOException e) {
            throw new InvalidInputException(splitDir + ": cannot list: " + e.getMessage(), e);
        }
        if (classes.isEmpty()) {
            throw new InvalidInputException(splitDir + ": no class folders (expected <split>/<class>/<image>)");
        }
        return classes;
    }

    /**
     * Scans one split.
     *
     * @param splitDir e.g. {@code root/train}
     * @param classes the class set, in label order (usually {@link #classesOf} of the training split)
     * @param bad fail or skip on a corrupt image or a folder outside the class set
     * @return the split's images, sorted by class then file name
     * @throws InvalidInputException naming the file for a bad image (unless skipping), or the
     *     directory when it holds no usable image
     */
    public static ImageFolder scan(Path splitDir, List<String> classes, BadRecords bad) {
        List<ImageRecord> images = new ArrayList<>();
        int skippedBefore = bad.skipped();
        for (String folder : classesOf(splitDir)) {
            int label = classes.indexOf(folder);
            for (Path file : imageFiles(splitDir.resolve(folder))) {
                try {
                    if (label < 0) {
                        throw new InvalidInputException(file + ": class \"" + folder
                                + "\" is not one of the training classes " + classes);
                    }
                    read(file);
                    images.add(new ImageRecord(file, label));
                } catch (InvalidInputException e) {
                    bad.handle(e);
                }
            }
        }
        if (images.isEmpty()) {
            throw new InvalidInputException(splitDir + ": no usable images (" + (bad.skipped() - skippedBefore)
                    + " skipped)");
        }
        return new ImageFolder(classes, images, bad.skipped() - skippedBefore);
    }

    /**
     * Decodes an image file of at most {@link #MAX_PIXELS} pixels.
     *
     * @throws InvalidInputException naming the file if it cannot be read or decoded, or declares
     *     more pixels (a small compressed file can declare gigabytes of them)
     */
    public static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new InvalidInputException(file + ": cannot read the image (missing, not a file, or not readable)");
        }
        try (ImageInputStream input = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = input == null ? null : ImageIO.getImageReaders(input);
            if (readers == null || !readers.hasNext()) {
                throw new InvalidInputException(file + ": not a readable image (no decoder recognises it)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(input, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > MAX_PIXELS) {
                    throw new InvalidInputException(file + ": " + reader.getWidth(0) + " x " + reader.getHeight(0)
                            + " pixels is beyond the " + MAX_PIXELS + " an image may have here");
                }
                return reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidInputException invalid) {
                throw invalid;
            }
            throw new InvalidInputException(file + ": corrupt or unreadable image: " + e.getMessage(), e);
        }
    }

    private static List<Path> imageFiles(Path classDir) {
        try (Stream<Path> files = Files.list(classDir)) {
            return files.filter(Files::isRegularFile).filter(ImageFolder::isImage).sorted().toList();
        } catch (IOException e) {
            throw new InvalidInputException(classDir + ": cannot list: " + e.getMessage(), e);
        }
    }

    private static boolean isImage(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return name.endsWith(".jpg") || name.endsWith(".jpeg") || name.endsWith(".png");
    }

    /** The class folder names, in label order. */
    public List<String> classes() {
        return classes;
    }

    /** The class names for prompts: folder names with underscores as spaces. */
    public List<String> classNames() {
        return promptNames(classes);
    }

    /** Folder names with underscores as spaces ({@code "golden_retriever"} to {@code "golden retriever"}). */
    public static List<String> promptNames(List<String> folders) {
        return folders.stream().map(name -> name.replace('_', ' ')).toList();
    }

    /** The images, sorted by class then file name. */
    public List<ImageRecord> images() {
        return images;
    }

    /** Images skipped as unreadable or outside the class set. */
    public int skipped() {
        return skipped;
    }
}
