package ai.lorapro.tasks.vision;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.models.common.CrossEntropy;
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

    @Override
    public NDArray[] lossSumAndCount(ParameterStore store, NDManager manager, Batch batch, boolean training) {
        long[] ids = batch.inputIds();
        long[] labels = batch.labels();
        int seq = batch.seqLength();
        List<ImageRecord> chunk = new ArrayList<>();
        long[] targets = new long[batch.batchSize()];
        for (int b = 0; b < batch.batchSize(); b++) {
            chunk.add(images.get((int) ids[b * seq]));
            targets[b] = labels[b * seq];
        }
        NDArray logits = classifier.forward(store, ImageClassification.pixels(chunk, processor, manager), training);
        return CrossEntropy.sumAndCount(logits, manager.create(targets));
    }

    @Override
    public String peftTaskType() {
        return "FEATURE_EXTRACTION";
    }
}
