package ai.lorapro.cli;

import ai.lorapro.tasks.TaskTrainInputs;
import ai.lorapro.tasks.TaskTrainer;

import java.io.PrintWriter;
import java.util.Locale;

/** Runs {@code lorapro train --task ...}: one of the paper's tasks on the training engine. */
final class TaskLauncher {

    private TaskLauncher() {}

    /**
     * Trains {@code task} with the job's settings and files and prints a summary.
     *
     * @throws ai.lorapro.InvalidInputException for an unknown task or unusable model or data
     */
    static void train(String task, TrainJob job, PrintWriter out) {
        TaskTrainer.Result result = TaskTrainer.train(task, job.config(), new TaskTrainInputs(job.modelDir(),
                job.tokenizerFile(), job.dataFile(), job.evalDataFile(), job.resumeDir(), job.skipBadLines()));
        out.printf(Locale.ROOT, "trained %s on %s for %d steps: final loss %.4f, %d skipped steps, %d bad records"
                        + " skipped%n", job.config().getMethod().cliName(), task, result.train().globalStep(),
                result.train().finalLoss(), result.train().skippedSteps(), result.skipped());
        if (!result.metrics().isEmpty()) {
            out.println("eval: " + result.metrics());
        }
        out.println("checkpoint: " + result.train().checkpoint());
        out.flush();
    }
}
