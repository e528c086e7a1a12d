package ai.lorapro.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import ai.lorapro.data.batch.Batch;

import java.util.List;

/**
 * The forward and backward passes of one optimizer step: each micro-batch's summed loss is divided
 * by the supervised-token count of the whole step (so accumulation equals one big batch) and by
 * nothing else, multiplied by the loss scale, and back-propagated; gradients accumulate in the
 * parameters. With several replicas ({@link DataParallel}) each micro-batch is split by examples
 * across them and their gradients are summed onto the primary, which then holds the gradient of
 * the whole step. Each micro-batch runs on its own sub-manager of the step's, closed after its
 * backward pass, so gradient accumulation keeps the arrays of one micro-batch at a time.
 */
final class StepRunner {

    private final TrainTask task;
    private final DataParallel replicas;
    private final boolean recomputeLayers;

    StepRunner(TrainTask task, DataParallel replicas, boolean recomputeLayers) {
        this.task = task;
        this.replicas = replicas;
        this.recomputeLayers = recomputeLayers;
    }

    /** The outcome of the passes. */
    record Passes(double loss, long supervisedTokens, long tokens) {}

    /**
     * Runs the passes of one step on {@code manager} (a per-step sub-manager).
     *
     * @param batches the step's micro-batches
     * @param lossScale the loss scale (1 without fp16)
     * @return the step's mean loss (unscaled) and token counts
     */
    Passes run(NDManager manager, List<Batch> batches, double lossScale) {
        long supervised = 0;
        long tokens = 0;
        for (Batch batch : batches) {
            supervised += task.lossItemCount(batch);
            tokens += batch.tokenCount();
        }
        if (supervised == 0) {
            return new Passes(Double.NaN, 0, tokens);
        }
        double factor = lossScale / supervised;
        double sum;
        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
            sum = replicas.runReplicas(manager, replicas.split(batches), (store, onDevice, slices) -> {
                double replicaSum = 0;
                for (Batch slice : slices) {
                    // a micro-batch's arrays (inputs and every activation DJL made from them) are freed
                    // before the next one runs: accumulation holds one micro-batch, not the whole step
                    try (NDManager micro = onDevice.newSubManager()) {
                        replicaSum += task.backward(store, micro, slice, factor, collector, recomputeLayers);
                    }
                }
                return replicaSum;
            });
        }
        replicas.sumGradientsOntoPrimary();
        return new Passes(sum / supervised, supervised, tokens);
    }
}
