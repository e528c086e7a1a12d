package ai.lorapro.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * What a finished run reports.
 *
 * @param globalStep optimizer steps completed (skipped ones included)
 * @param finalLoss the training loss of the last step
 * @param losses the training loss of every step this process ran
 * @param finalEval the metrics of the final evaluation, empty without eval data
 * @param skippedSteps steps skipped for a non-finite loss or gradient norm, or for scoring no token (over
 *     the whole run)
 * @param trainableParameters trainable values of the model
 * @param optimizerStateBytes bytes of optimizer state at the end
 * @param seconds wall time of the training loop in this process
 * @param checkpoint the last checkpoint directory
 * @param skippedUpdates updates of single parameters or LoRA pairs that the optimizer skipped inside
 *     otherwise applied steps, for a result that was not finite or could overflow the moments (in this
 *     process: it starts at 0 again on a resume; each is logged)
 */
public record TrainResult(long globalStep, double finalLoss, double[] losses,
        Map<String, Double> finalEval, long skippedSteps, long trainableParameters,
        long optimizerStateBytes, double seconds, Path checkpoint, long skippedUpdates) {}
