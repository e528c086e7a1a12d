package ai.lorapro.models.clip;

import ai.djl.modality.cv.Image;
import ai.djl.modality.cv.util.NDImageUtils;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;

import java.util.List;

/**
 * CLIP's image preprocessing ({@code CLIPImageProcessor}): resize so that the shortest side is
 * {@code shortestEdge} (the longer side becomes int(shortestEdge * long / short)) with bicubic
 * resampling, center-crop to {@code cropSize} x {@code cropSize}, rescale by 1/255 and normalise
 * each channel with CLIP's mean and standard deviation; the result is CHW float32.
 *
 * <p>Known difference: transformers resizes with PIL's bicubic filter (a = -0.5, its support
 * widened by the scale factor when downsampling, i.e. antialiased), DJL with PyTorch's {@code
 * interpolate(mode="bicubic")} (a = -0.75, no antialiasing). The resized pixels are rounded and
 * clamped to 0..255 as PIL's 8-bit output is, but they can still differ by a few grey levels, more
 * when shrinking images with fine detail by a large factor. The crop, rescale and normalisation
 * are exact, and an image already of the target size is not resampled at all.
 */
public final class ClipImageProcessor {

    /** OpenAI CLIP's per-channel mean (RGB). */
    public static final float[] CLIP_MEAN = {0.48145466f, 0.4578275f, 0.40821073f};

    /** OpenAI CLIP's per-channel standard deviation (RGB). */
    public static final float[] CLIP_STD = {0.26862954f, 0.26130258f, 0.27577711f};

    private final int shortestEdge;
    private final int cropSize;
    private final float[] mean;
    private final float[] std;

    private ClipImageProcessor(Builder b) {
        this.shortestEdge = b.shortestEdge;
        this.cropSize = b.cropSize;
        this.mean = b.mean.clone();
        this.std = b.std.clone();
    }

    /** A builder with CLIP's defaults (224 px, CLIP mean and std). */
    public static Builder builder() {
        return new Builder();
    }

    /** The processor for a vision tower: resize and crop to its {@code image_size}. */
    public static ClipImageProcessor forVision(ClipVisionConfig vision) {
        return builder().optSize(vision.imageSize(), vision.imageSize()).build();
    }

    /** The pixels of {@code image} as [3, crop, crop] float32 on {@code manager}. */
    public NDArray process(Image image, NDManager manager) {
        return processHwc(image.toNDArray(manager, Image.Flag.COLOR));
    }

    /** A batch [B, 3, crop, crop] of {@code images}. */
    public NDArray process(List<Image> images, NDManager manager) {
        NDList list = new NDList();
        for (Image image : images) {
            list.add(process(image, manager));
        }
        return NDArrays.stack(list);
    }

    /**
     * Processes an RGB image array [H, W, 3] (uint8 or float, values 0..255), on its manager.
     *
     * @return [3, crop, crop] float32
     */
    public NDArray processHwc(NDArray hwc) {
        if (hwc.getShape().dimension() != 3 || hwc.getShape().get(2) != mean.length) {
            throw new IllegalArgumentException("expected an [H, W, " + mean.length + "] image, got " + hwc.getShape());
        }
        NDArray pixels = hwc.toType(DataType.FLOAT32, false);
        int height = (int) pixels.getShape().get(0);
        int width = (int) pixels.getShape().get(1);
        int[] size = resizedSize(height, width, shortestEdge);
        if (size[0] != height || size[1] != width) {
            pixels = NDImageUtils.resize(pixels, size[1], size[0], Image.Interpolation.BICUBIC);
            // PIL's resize of an 8-bit image rounds and clamps
            pixels = pixels.clip(0f, 255f).round();
        }
        int[] box = cropBox(size[0], size[1], cropSize);
        NDArray cropped =
                pixels.get(new NDIndex("{}:{}, {}:{}, :", box[0], box[0] + cropSize, box[1], box[1] + cropSize));
        NDManager manager = hwc.getManager();
        NDArray m = manager.create(mean).reshape(1, 1, mean.length);
        NDArray s = manager.create(std).reshape(1, 1, std.length);
        return cropped.div(255f).sub(m).div(s).transpose(2, 0, 1);
    }

    /**
     * transformers' {@code get_resize_output_image_size(default_to_square=False)}: the shortest
     * side becomes {@code edge}, the longest int(edge * long / short).
     *
     * @return {height, width}
     */
    static int[] resizedSize(int height, int width, int edge) {
        if (width <= height) {
            return new int[] {(int) ((long) edge * height / width), edge};
        }
        return new int[] {edge, (int) ((long) edge * width / height)};
    }

    /**
     * transformers' {@code center_crop}: top = (height - crop) / 2, left = (width - crop) / 2
     * (integer division).
     *
     * @return {top, left}
     * @throws IllegalArgumentException if the image is smaller than the crop
     */
    static int[] cropBox(int height, int width, int crop) {
        if (height < crop || width < crop) {
            throw new IllegalArgumentException(height + "x" + width + " image is smaller than the " + crop + " px crop");
        }
        return new int[] {(height - crop) / 2, (width - crop) / 2};
    }

    /** The side the shortest edge is resized to. */
    public int getShortestEdge() {
        return shortestEdge;
    }

    /** The side of the square crop. */
    public int getCropSize() {
        return cropSize;
    }

    /** Builds a {@link ClipImageProcessor}. */
    public static final class Builder {
        private int shortestEdge = 224;
        private int cropSize = 224;
        private float[] mean = CLIP_MEAN;
        private float[] std = CLIP_STD;

        private Builder() {}

        /** The shortest side after resizing, and the side of the center crop. */
        public Builder optSize(int shortestEdge, int cropSize) {
            this.shortestEdge = shortestEdge;
            this.cropSize = cropSize;
            return this;
        }

        /** The per-channel mean and standard deviation (defaults: CLIP's). */
        public Builder optNormalization(float[] mean, float[] std) {
            this.mean = mean.clone();
            this.std = std.clone();
            return this;
        }

        /** Builds the processor. */
        public ClipImageProcessor build() {
            if (shortestEdge < 1 || cropSize < 1 || cropSize > shortestEdge) {
                throw new IllegalArgumentException(
                        "need 1 <= crop size (" + cropSize + ") <= shortest edge (" + shortestEdge + ")");
            }
            if (mean.length != std.length || mean.length == 0) {
                throw new IllegalArgumentException("mean and std need one value per channel");
            }
            for (float s : std) {
                if (!(s > 0)) {
                    throw new IllegalArgumentException("std must be positive, got " + s);
                }
            }
            return new ClipImageProcessor(this);
        }
    }
}
