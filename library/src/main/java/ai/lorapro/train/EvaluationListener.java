package ai.lorapro.train;

import ai.djl.ndarray.NDManager;
import ai.lorapro.data.batch.Example;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Evaluates every {@code interval} steps (not at a run's last step) and at the end of the run: the
 * eval loss and perplexity on the evaluation examples plus the task's {@link EvalHook}, written
 * into the metrics file.
 */
final class EvaluationListener implements StepListener {

    private static final Logger LOGGER = LoggerFactory.getLogger(EvaluationListener.class);

    private final TrainTask task;
    private final NDManager manager;
    private final List<Example> examples;
    private final int batchSize;
    private final long padId;
    private final EvalHook hook;
    private final int interval;
    private final MetricsWriter metrics;
    private Map<String, Double> last = Map.of();

    EvaluationListener(TrainTask task, NDManager manager, List<Example> examples, int batchSize, long padId,
            EvalHook hook, int interval, MetricsWriter metrics) {
        this.task = task;
        this.manager = manager;
        this.examples = examples;
        this.batchSize = batchSize;
        this.padId = padId;
        this.hook = hook;
        this.interval = interval;
        this.metrics = metrics;
    }

    @Override
    public void afterStep(StepRecord step) {
        if (!step.last() && interval > 0 && step.step() % interval == 0) {
            evaluate(step.step());
        }
    }

    @Override
    public void afterRun(long globalStep) {
        evaluate(globalStep);
    }

    /** The metrics of the latest evaluation (empty when there was nothing to evaluate). */
    Map<String, Double> last() {
        return last;
    }

    private void evaluate(long step) {
        Map<String, Double> result = new LinkedHashMap<>();
        if (!examples.isEmpty()) {
            result.putAll(Evaluator.evaluate(task, manager, examples, batchSize, padId));
        }
        if (hook != null) {
            result.putAll(hook.evaluate(step));
        }
        if (!result.isEmpty()) {
            metrics.writeEval(step, result);
            LOGGER.info("step {}: eval {}", step, result);
        }
        last = result;
    }
}
