package ai.lorapro.cli;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.lorapro.data.HfTokenizer;
import ai.lorapro.data.batch.Example;
import ai.lorapro.data.jsonl.TextEncoder;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.Devices;
import ai.lorapro.train.MemoryCheck;
import ai.lorapro.train.MemoryEstimate;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainingEngine;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;

/**
 * Runs {@code lorapro train} jobs on the {@link TrainingEngine}: checks config, tokenizer and data
 * before any output is written, loads the model on the chosen device and trains.
 */
public final class EngineLauncher implements TrainLauncher {

    private final PrintWriter out;

    /**
     * @param out where the run's summary is printed
     */
    public EngineLauncher(PrintWriter out) {
        this.out = out;
    }

    @Override
    public void launch(TrainJob job) {
        TrainConfig config = job.config();
        LlamaConfig modelConfig = ModelFiles.config(job.modelDir());
        try (HfTokenizer tokenizer = ModelFiles.tokenizer(job.modelDir(), job.tokenizerFile())) {
            ModelFiles.checkFit(tokenizer, modelConfig);
            TextEncoder encoder = ModelFiles.encoder(tokenizer, modelConfig);
            List<Example> train = ModelFiles.examples(job.dataFile(), encoder, config.getMaxSeqLength(),
                    job.skipBadLines());
            List<Example> eval = job.evalDataFile() == null ? List.of()
                    : ModelFiles.examples(job.evalDataFile(), encoder, config.getMaxSeqLength(), job.skipBadLines());
            Device device = Devices.resolve(config.getDevice());
            MemoryCheck.report(MemoryEstimate.forLlama(modelConfig, config), device);
            try (NDManager manager = NDManager.newBaseManager(device)) {
                DataType frozen = config.isFp16Frozen() ? DataType.FLOAT16 : DataType.FLOAT32;
                LlamaForCausalLM model = ModelFiles.load(job.modelDir(), manager, frozen);
                try (TrainingEngine engine = TrainingEngine.builder()
                        .setTask(new CausalLmTask(model))
                        .setConfig(config)
                        .setManager(manager)
                        .setTrainExamples(train)
                        .optEvalExamples(eval)
                        .optPadId(encoder.effectivePadId())
                        .optResumeFrom(job.resumeDir())
                        .optBaseModel(job.modelDir().toString())
                        .build()) {
                    TrainResult result = engine.run();
                    out.printf(Locale.ROOT, "trained %s for %d steps on %s: final loss %.4f%s, %d skipped steps%n",
                            config.getMethod().cliName(), result.globalStep(), device, result.finalLoss(),
                            result.finalEval().containsKey("loss")
                                    ? String.format(Locale.ROOT, ", eval loss %.4f", result.finalEval().get("loss"))
                                    : "",
                            result.skippedSteps());
                    out.println("checkpoint: " + result.checkpoint());
                    out.flush();
                }
            }
        }
    }
}
