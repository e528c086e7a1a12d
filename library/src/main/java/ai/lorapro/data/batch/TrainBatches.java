package ai.lorapro.data.batch;

import ai.lorapro.InvalidInputException;

import java.util.ArrayList;
import java.util.List;

/**
 * Serves training data one optimizer step at a time: each step takes up to {@code microBatch *
 * accumulation} examples in the epoch's seeded order and splits them into right-padded
 * micro-batches. A step never spans two epochs, so the last step of an epoch may be short. The
 * {@link #position()} after any step, handed back to a new instance, continues with exactly the
 * batches this one would have produced.
 */
public final class TrainBatches {

    private final List<Example> examples;
    private final int microBatch;
    private final int accumulation;
    private final long seed;
    private final boolean shuffle;
    private final long padId;
    private DataPosition position;
    private int[] order;

    /**
     * A loader starting at {@code start}.
     *
     * @param examples the training examples, at least one
     * @param microBatch examples per micro-batch
     * @param accumulation micro-batches per optimizer step
     * @param seed the shuffling seed
     * @param shuffle whether each epoch is shuffled
     * @param padId the id written into padding
     * @param start where to start, {@link DataPosition#START} for a fresh run
     * @throws InvalidInputException when {@code start} does not fit the examples
     */
    public TrainBatches(List<Example> examples, int microBatch, int accumulation, long seed,
            boolean shuffle, long padId, DataPosition start) {
        if (examples.isEmpty()) {
            throw new IllegalArgumentException("no training examples");
        }
        if (microBatch < 1 || accumulation < 1) {
            throw new IllegalArgumentException("micro batch and accumulation must be >= 1, got "
                    + microBatch + " and " + accumulation);
        }
        if (start.index() >= examples.size()) {
            // Only a resumed run can get here: its checkpoint came from other data.
            throw new InvalidInputException("resume: data position index " + start.index()
                    + " is past the " + examples.size() + " examples; was the data changed?");
        }
        this.examples = List.copyOf(examples);
        this.microBatch = microBatch;
        this.accumulation = accumulation;
        this.seed = seed;
        this.shuffle = shuffle;
        this.padId = padId;
        this.position = start;
        this.order = EpochOrder.of(examples.size(), seed, start.epoch(), shuffle);
    }

    /** Where the next step starts. */
    public DataPosition position() {
        return position;
    }

    /**
     * The micro-batches of the next optimizer step; advances the position, moving to the next
     * epoch (and its order) after the epoch's last example.
     *
     * @return between one and {@code accumulation} micro-batches
     */
    public List<Batch> nextStep() {
        int from = position.index();
        // in long: micro batch x accumulation may pass Integer.MAX_VALUE (a step then takes the rest of the epoch)
        int to = (int) Math.min(examples.size(), from + (long) microBatch * accumulation);
        List<Batch> batches = new ArrayList<>();
        for (int start = from; start < to; start += microBatch) {
            int end = Math.min(to, start + microBatch);
            List<Example> chunk = new ArrayList<>(end - start);
            for (int i = start; i < end; i++) {
                chunk.add(examples.get(order[i]));
            }
            batches.add(Batch.collate(chunk, padId));
        }
        if (to == examples.size()) {
            position = new DataPosition(position.epoch() + 1, 0);
            order = EpochOrder.of(examples.size(), seed, position.epoch(), shuffle);
        } else {
            position = new DataPosition(position.epoch(), to);
        }
        return batches;
    }

    /**
     * Every example in the given order, split into right-padded micro-batches, for evaluation.
     *
     * @param examples the examples
     * @param microBatch examples per batch
     * @param padId the id written into padding
     * @return the batches; the last may be short
     */
    public static List<Batch> sequential(List<Example> examples, int microBatch, long padId) {
        if (microBatch < 1) {
            throw new IllegalArgumentException("micro batch must be >= 1, got " + microBatch);
        }
        List<Batch> batches = new ArrayList<>();
        for (int start = 0; start < examples.size(); start += microBatch) {
            int end = Math.min(examples.size(), start + microBatch);
            batches.add(Batch.collate(examples.subList(start, end), padId));
        }
        return batches;
    }
}
