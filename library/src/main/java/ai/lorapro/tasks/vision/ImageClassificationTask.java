package ai.lorapro.tasks.vision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.InvalidInputException;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.common.CrossEntropy;
import ai.lorapro.models.common.LayeredPass;
import ai.lorapro.train.TrainTask;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The image-classification task of the training engine: each example of a batch names an image by
 * its index (see {@link ImageClassification#examples}); the images are decoded and processed for
 * the batch, and the loss is the cross-entropy of the classifier's logits summed over the batch.
 */
public final class ImageClassificationTask implements TrainTask {

    private final ClipImageClassifier classifier;
    private final List<ImageRecord> images;
    private final ClipImageProcessor processor;

    /**
     * @param classifier the classifier (zero-shot head plus vision tower)
     * @param images the training images the examples index
     * @param processor the vision tower's image processor
     */
    public ImageClassificationTask(ClipImageClassifier classifier, List<ImageRecord> images,
            ClipImageProcessor processor) {
        this.classifier = Objects.requireNonNull(classifier, "classifier");
        this.images = List.copyOf(images);
        this.processor = Objects.requireNonNull(processor, "processor");
    }

    @Override
    public Block model() {
        return classifier;
    }

    /**
     * {@inheritDoc} Here: the first id an index of the task's images, the first label a class of the
     * classifier (or {@link Example#IGNORE_INDEX}).
     */
    @Override
    public void requireUsable(Example example) {
        long image = example.inputId(0);
        long label = example.label(0);
        if (image < 0 || image >= images.size()) {
            throw new InvalidInputException("image index " + image + " is outside the " + images.size() + " images");
        }
        if (label != Example.IGNORE_INDEX && (label < 0 || label >= classifier.numClasses())) {
            throw new InvalidInputException("class " + label + " is outside the classifier's " + classifier.numClasses()
                    + " classes");
        }
    }

    @Override
    public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
        NDArray logits = classifier.forward(store, pixels(batch, manager), training);
        return CrossEntropy.sumAndCount(logits, targets(batch, manager));
    }

    /** {@inheritDoc} Here: the vision encoder's layers. */
    @Override
    public LayeredLoss layeredLoss(ParameterStore store, NDManager manager, Batch batch) {
        NDArray targets = targets(batch, manager);
        LayeredPass pass = classifier.layeredPass(store, pixels(batch, manager), true);
        return new LayeredLoss(pass, logits -> CrossEntropy.sumAndCount(logits, targets));
    }

    /** The processed images of a batch: each example names its image by the index in its first token. */
    private NDArray pixels(Batch batch, NDManager manager) {
        long[] ids = batch.inputIds();
        List<ImageRecord> chunk = new ArrayList<>();
        for (int b = 0; b < batch.batchSize(); b++) {
            chunk.add(images.get((int) ids[b * batch.seqLength()]));
        }
        return ImageClassification.pixels(chunk, processor, manager);
    }

    /** The class of each example, from its first label. */
    private static NDArray targets(Batch batch, NDManager manager) {
        long[] labels = batch.labels();
        long[] targets = new long[batch.batchSize()];
        for (int b = 0; b < batch.batchSize(); b++) {
            targets[b] = labels[b * batch.seqLength()];
        }
        return manager.create(targets);
    }

    @Override
    public String peftTaskType() {
        return "FEATURE_EXTRACTION";
    }

    /** {@inheritDoc} Here: images, one per example. */
    @Override
    public String throughputUnit() {
        return IMAGES;
    }
}
