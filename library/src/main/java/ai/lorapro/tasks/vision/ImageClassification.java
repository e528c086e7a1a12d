package ai.lorapro.tasks.vision;

import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.ImageFactory;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Example;
import ai.lorapro.models.clip.ClipImageClassifier;
import ai.lorapro.models.clip.ClipImageProcessor;
import ai.lorapro.tasks.TaskOutputs;

import com.google.gson.JsonObject;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Image classification with a CLIP classifier: pixels of image files, training examples for the
 * engine, and top-1 accuracy on a split.
 *
 * <p>An image goes through the data pipeline as an {@link Example} of one position whose id is the
 * image's index in its list and whose label is its class, so the engine's shuffling and batching
 * work unchanged and the pixels are decoded only for the batch that needs them.
 */
public final class ImageClassification {

    /** The predictions file written next to the metrics. */
    public static final String PREDICTIONS_FILE = "predictions.jsonl";

    private ImageClassification() {}

    /** The examples of {@code images}: id = index into {@code images}, label = class. */
    public static List<Example> examples(List<ImageRecord> images) {
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            out.add(new Example(new long[] {i}, new long[] {images.get(i).label()}));
        }
        return out;
    }

    /**
     * The pixels [B, 3, crop, crop] of some images, on {@code manager}.
     *
     * @throws ai.lorapro.InvalidInputException naming a file that cannot be decoded
     */
    public static NDArray pixels(List<ImageRecord> images, ClipImageProcessor processor, NDManager manager) {
        NDList rows = new NDList();
        for (ImageRecord record : images) {
            Image image = ImageFactory.getInstance().fromImage(ImageFolder.read(record.file()));
            rows.add(processor.process(image, manager));
        }
        return NDArrays.stack(rows);
    }

    /**
     * Classifies every image and scores the predictions.
     *
     * @param classifier the classifier
     * @param images the images
     * @param processor the image processor of the classifier's vision tower
     * @param manager the manager of the model's device
     * @param batchSize images per forward pass
     * @return the predicted class of each image, with the accuracy
     */
    public static Result evaluate(ClipImageClassifier classifier, List<ImageRecord> images,
            ClipImageProcessor processor, NDManager manager, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        ParameterStore store = new ParameterStore(manager, false);
        int[] predicted = new int[images.size()];
        for (int start = 0; start < images.size(); start += batchSize) {
            List<ImageRecord> chunk = images.subList(start, Math.min(images.size(), start + batchSize));
            try (NDManager step = manager.newSubManager()) {
                // layer by layer: a batch of images keeps one encoder layer's activations, not all of them
                NDArray logits = classifier.layeredPass(store, pixels(chunk, processor, step), false).inferLayerByLayer();
                long[] best = logits.argMax(1).toLongArray();
                for (int i = 0; i < best.length; i++) {
                    predicted[start + i] = (int) best[i];
                }
            }
        }
        return new Result(images, predicted);
    }

    /**
     * Predicted classes and accuracy.
     *
     * @param images the images
     * @param predicted the predicted class of each
     */
    public record Result(List<ImageRecord> images, int[] predicted) {

        /** Copies the inputs. */
        public Result {
            images = List.copyOf(images);
            predicted = predicted.clone();
        }

        /** The number of correct predictions. */
        public int correct() {
            int n = 0;
            for (int i = 0; i < images.size(); i++) {
                n += predicted[i] == images.get(i).label() ? 1 : 0;
            }
            return n;
        }

        /** correct / total, NaN for no images. */
        public double accuracy() {
            return images.isEmpty() ? Double.NaN : (double) correct() / images.size();
        }

        /**
         * Writes {@code predictions.jsonl} (file, label, predicted, with class names) and {@code
         * metrics.json} (task, accuracy, correct, total and {@code extra}) into {@code dir}.
         *
         * @return the metrics written
         */
        public Map<String, Object> write(Path dir, List<String> classes, Map<String, ?> extra) {
            List<JsonObject> rows = new ArrayList<>();
            for (int i = 0; i < images.size(); i++) {
                JsonObject row = new JsonObject();
                row.addProperty("file", images.get(i).file().toString());
                row.addProperty("label", classes.get(images.get(i).label()));
                row.addProperty("predicted", classes.get(predicted[i]));
                row.addProperty("correct", predicted[i] == images.get(i).label());
                rows.add(row);
            }
            TaskOutputs.writeJsonLines(dir.resolve(PREDICTIONS_FILE), rows);
            Map<String, Object> metrics = new LinkedHashMap<>();
            metrics.put("task", "image-folder");
            metrics.put("accuracy", accuracy());
            metrics.put("correct", correct());
            metrics.put("total", images.size());
            metrics.putAll(extra);
            TaskOutputs.writeMetrics(dir.resolve(TaskOutputs.METRICS_FILE), metrics);
            return metrics;
        }
    }
}
