package ai.lorapro.tasks.vision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDManager;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.Fixtures;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.clip.ClipModel;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

/** What the image task refuses before any step: an image index or a class it does not have. */
class ImageClassificationTaskTest {

    @Test
    void anExampleMustNameOneOfItsImagesAndOneOfTheClassifiersClasses() {
        try (NDManager manager = NDManager.newBaseManager()) {
            ClipModel clip = ClipModel.fromPretrained(Fixtures.hfTiny().resolve("clip-tiny"), manager);
            // two classes, from two one-token prompts (the text tower pools at the largest id)
            ClipImageClassifier classifier = ClipImageClassifier.zeroShotFromTokenIds(clip,
                    List.of(new long[] {94, 5, 95}, new long[] {94, 6, 95}), manager);
            List<ImageRecord> images = List.of(new ImageRecord(Path.of("a.png"), 0), new ImageRecord(Path.of("b.png"), 1));
            ImageClassificationTask task = new ImageClassificationTask(classifier, images,
                    ClipImageProcessor.forVision(clip.getConfig().vision()));
            for (Example usable : ImageClassification.examples(images)) {
                task.requireUsable(usable);
            }
            // the engine's pad example: image 0, label ignored
            task.requireUsable(new Example(new long[] {0}, new long[] {Example.IGNORE_INDEX}));
            InvalidInputException image = assertThrows(InvalidInputException.class,
                    () -> task.requireUsable(new Example(new long[] {2}, new long[] {1})));
            assertEquals("image index 2 is outside the 2 images", image.getMessage());
            InvalidInputException label = assertThrows(InvalidInputException.class,
                    () -> task.requireUsable(new Example(new long[] {1}, new long[] {2})));
            assertEquals("class 2 is outside the classifier's 2 classes", label.getMessage());
        }
    }
}
