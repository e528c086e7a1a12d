package ai.lorapro.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.lorapro.data.batch.Batch;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.batch.TrainBatches;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The token-weighted mean loss of a task over a set of examples, without gradients; each batch
 * runs in its own sub-manager.
 */
public final class Evaluator {

    private Evaluator() {}

    /**
     * Evaluates {@code examples}.
     *
     * @param task the task
     * @param manager the model's manager
     * @param examples the examples
     * @param microBatch examples per forward pass
     * @param padId the padding id
     * @return {@code loss} and {@code perplexity}
     */
    public static Map<String, Double> evaluate(TrainTask task, NDManager manager, List<Example> examples,
            int microBatch, long padId) {
        ParameterStore store = new ParameterStore(manager, false);
        double sum = 0;
        double count = 0;
        for (Batch batch : TrainBatches.sequential(examples, microBatch, padId)) {
            try (NDManager step = manager.newSubManager()) {
                NDArray[] parts = task.lossSumAndCount(store, step, batch, false);
                sum += parts[0].getFloat();
                count += parts[1].getFloat();
            }
        }
        double loss = count > 0 ? sum / count : Double.NaN;
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("loss", loss);
        out.put("perplexity", Math.exp(loss));
        return out;
    }
}
