package ai.lorapro.tasks.vision;

import java.nio.file.Path;

/**
 * One labelled image of an image folder.
 *
 * @param file the image file
 * @param label the class index
 */
public record ImageRecord(Path file, int label) {}
