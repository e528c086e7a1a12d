package ai.lorapro.demo;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import ai.lorapro.models.common.Prompts;
import ai.lorapro.data.batch.Example;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.io.PeftAdapter;
import ai.lorapro.io.SafetensorsFile;
import ai.lorapro.models.common.CausalLanguageModel;
import ai.lorapro.models.common.Generator;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.models.llama.LlamaForCausalLM;
import ai.lorapro.train.CausalLmTask;
import ai.lorapro.train.DeviceChoice;
import ai.lorapro.plot.LossCurvePlot;
import ai.lorapro.train.PeakMemory;
import ai.lorapro.train.Method;
import ai.lorapro.train.MetricsLog;
import ai.lorapro.train.TrainConfig;
import ai.lorapro.train.TrainResult;
import ai.lorapro.train.TrainingCheckpoint;
import ai.lorapro.train.TrainingEngine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The self-contained demo: builds a small Llama-architecture model, pretrains it on generated
 * addition sentences, then fine-tunes copies of it on subtraction (a skill it never saw) with full
 * fine-tuning, LoRA and LoRA-Pro under the same budget, and reports final loss, exact-match
 * accuracy of greedy answers, time, memory and trainable parameters.
 *
 * <p>All methods share the steps, batch, warm-up cosine schedule and seed. LoRA and LoRA-Pro use
 * the same learning rate, as the paper does; full fine-tuning updates every weight and uses a
 * smaller one ({@link #FULL_LR}), fixed before any comparison was run.
 */
public final class Demo {

    /** The learning rate of LoRA and LoRA-Pro fine-tuning. */
    public static final float LORA_LR = 2e-3f;
    /** The learning rate of full fine-tuning. */
    public static final float FULL_LR = 5e-4f;
    /** The learning rate of pretraining. */
    public static final float PRETRAIN_LR = 3e-3f;
    /** The results table written to the output directory. */
    public static final String TABLE_FILE = "results.md";
    /** The loss curves written to the output directory. */
    public static final String PLOT_FILE = "loss_curves.png";

    private static final int BATCH = 32;
    private static final int MAX_OPERAND = 19;
    private static final int TRAIN_PROBLEMS = 150;

    private final Path out;
    private final long seed;
    private final int pretrainSteps;
    private final int steps;
    private final int testProblems;
    private final List<Method> methods;

    private Demo(Builder b) {
        this.out = b.out;
        this.seed = b.seed;
        this.pretrainSteps = b.pretrainSteps;
        this.steps = b.steps;
        this.testProblems = b.testProblems;
        this.methods = List.copyOf(b.methods);
    }

    /** A builder with the defaults of {@code ./lorapro demo}. */
    public static Builder builder() {
        return new Builder();
    }

    /** The model: 2 layers, hidden 64, 4 heads, vocabulary of the demo tokenizer. */
    static LlamaConfig modelConfig(CharTokenizer tokenizer) {
        return LlamaConfig.builder()
                .setVocabSize(tokenizer.vocabSize())
                .setHiddenSize(64)
                .setIntermediateSize(128)
                .setNumHiddenLayers(2)
                .setNumAttentionHeads(4)
                .optMaxPositionEmbeddings(32)
                .optBosTokenId((int) tokenizer.bosId())
                .optEosTokenIds(List.of((int) tokenizer.eosId()))
                .optPadTokenId((int) tokenizer.padId())
                .build();
    }

    /**
     * Runs the demo, printing progress and the table to {@code console}.
     *
     * @return one row per method (the first row is the pretrained model without fine-tuning)
     */
    public List<DemoRow> run(PrintWriter console) {
        // The model is so small that PyTorch's intra-op threads only add synchronisation, and on a
        // busy machine their spin-waiting made a step 10-20x slower; one thread is also exact.
        Engine.getInstance(); // loads the native library
        int threads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
        try {
            return runSingleThreaded(console);
        } finally {
            JniUtils.setNumThreads(threads);
        }
    }

    private List<DemoRow> runSingleThreaded(PrintWriter console) {
        CharTokenizer tokenizer = new CharTokenizer();
        ArithmeticCorpus corpus = new ArithmeticCorpus(tokenizer, MAX_OPERAND);
        LlamaConfig config = modelConfig(tokenizer);
        List<ArithmeticCorpus.Problem> train = corpus.subtraction(TRAIN_PROBLEMS, testProblems, seed).get(0);
        List<ArithmeticCorpus.Problem> test = corpus.subtraction(TRAIN_PROBLEMS, testProblems, seed).get(1);
        List<Example> trainExamples = corpus.examples(train);
        List<Example> testExamples = corpus.examples(test);

        console.printf("lorapro demo: pretraining a %d-layer Llama (hidden %d, vocab %d) on addition for %d steps%n",
                config.getNumHiddenLayers(), config.getHiddenSize(), config.getVocabSize(), pretrainSteps);
        console.flush();
        Path base = pretrain(config, corpus);
        List<DemoRow> rows = new ArrayList<>();
        rows.add(evaluateBase(config, base, test, tokenizer));
        for (Method method : methods) {
            console.printf("fine-tuning on subtraction with %s for %d steps...%n", method.cliName(), steps);
            console.flush();
            rows.add(fineTune(method, config, base, trainExamples, testExamples, test, tokenizer));
        }
        writePlot();
        String table = DemoRow.table(rows, steps, BATCH);
        AtomicFiles.writeString(out.resolve(TABLE_FILE), table);
        console.println();
        console.print(table);
        console.printf("%nloss curves: %s%nadapters: %s%ntable: %s%n", out.resolve(PLOT_FILE),
                out.resolve("adapters"), out.resolve(TABLE_FILE));
        console.flush();
        return rows;
    }

    private Path pretrain(LlamaConfig config, ArithmeticCorpus corpus) {
        TrainConfig trainConfig = TrainConfig.builder()
                .optMethod(Method.FULL)
                .optLr(PRETRAIN_LR)
                .optMaxSteps(pretrainSteps)
                .optGlobalBatch(BATCH)
                .optMicroBatch(BATCH)
                .optSeed(seed)
                .optDevice(DeviceChoice.CPU)
                .optLogInterval(Math.max(1, pretrainSteps / 4))
                .setOutputDir(out.resolve("pretrain"))
                .build();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = LlamaForCausalLM.random(config, manager, seed);
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(trainConfig)
                    .setManager(manager)
                    .setTrainExamples(corpus.pretraining(Math.max(2 * BATCH, pretrainSteps * BATCH), seed + 1))
                    .optBaseModel("lorapro-demo")
                    
                    .build()) {
                TrainResult result = engine.run();
                return result.checkpoint().resolve(TrainingCheckpoint.WEIGHTS_FILE);
            }
        }
    }

    private static LlamaForCausalLM load(LlamaConfig config, Path base, NDManager manager) {
        try (SafetensorsFile weights = SafetensorsFile.open(base)) {
            return LlamaForCausalLM.fromPretrained(config, weights, base.toString(), manager, DataType.FLOAT32);
        }
    }

    private DemoRow evaluateBase(LlamaConfig config, Path base, List<ArithmeticCorpus.Problem> test,
            CharTokenizer tokenizer) {
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = load(config, base, manager);
            double accuracy = exactMatch(model, manager, test, tokenizer);
            return new DemoRow("base (no fine-tuning)", Double.NaN, Double.NaN, accuracy, 0, -1, 0, 0);
        }
    }

    private DemoRow fineTune(Method method, LlamaConfig config, Path base, List<Example> train, List<Example> eval,
            List<ArithmeticCorpus.Problem> test, CharTokenizer tokenizer) {
        TrainConfig trainConfig = TrainConfig.builder()
                .optMethod(method)
                .optR(8)
                .optAlpha(16)
                .optLr(method == Method.FULL ? FULL_LR : LORA_LR)
                .optMaxSteps(steps)
                .optGlobalBatch(BATCH)
                .optMicroBatch(BATCH)
                .optSeed(seed)
                .optDevice(DeviceChoice.CPU)
                .optLogInterval(Math.max(1, steps / 3))
                .setOutputDir(out.resolve(method.cliName()))
                .build();
        System.gc();
        boolean peakReset = PeakMemory.reset();
        try (NDManager manager = NDManager.newBaseManager(Device.cpu())) {
            LlamaForCausalLM model = load(config, base, manager);
            double[] accuracy = new double[1];
            try (TrainingEngine engine = TrainingEngine.builder()
                    .setTask(new CausalLmTask(model))
                    .setConfig(trainConfig)
                    .setManager(manager)
                    .setTrainExamples(train)
                    .optEvalExamples(eval)
                    .optEvalHook(step -> {
                        accuracy[0] = exactMatch(model, manager, test, tokenizer);
                        return Map.of("exact_match", accuracy[0]);
                    })
                    .optBaseModel("lorapro-demo")
                    .build()) {
                TrainResult result = engine.run();
                long peak = peakReset ? PeakMemory.peakBytes() : -1;
                if (method.usesAdapters()) {
                    PeftAdapter.save(model, out.resolve("adapters").resolve(method.cliName()), "lorapro-demo",
                            "CAUSAL_LM");
                }
                return new DemoRow(method.cliName(), result.finalLoss(), result.finalEval().get("loss"),
                        accuracy[0], result.seconds(), peak, result.optimizerStateBytes(),
                        result.trainableParameters());
            }
        }
    }

    /** The fraction of {@code problems} whose greedy answer is exactly right. */
    static double exactMatch(CausalLanguageModel model, NDManager manager, List<ArithmeticCorpus.Problem> problems,
            CharTokenizer tokenizer) {
        long[][] prompts = new long[problems.size()][];
        for (int i = 0; i < prompts.length; i++) {
            long[] body = tokenizer.encode(problems.get(i).prompt());
            prompts[i] = new long[body.length + 1];
            prompts[i][0] = tokenizer.bosId();
            System.arraycopy(body, 0, prompts[i], 1, body.length);
        }
        Generator generator = Generator.builder()
                .optMaxNewTokens(4)
                .optEosTokenIds(Set.of(tokenizer.eosId()))
                .optPadTokenId(tokenizer.padId())
                .build();
        List<long[]> answers = Prompts.generate(generator, model, manager, prompts, tokenizer.padId());
        int correct = 0;
        for (int i = 0; i < answers.size(); i++) {
            long[] tokens = answers.get(i);
            boolean ended = tokens.length > 0 && tokens[tokens.length - 1] == tokenizer.eosId();
            if (ended && tokenizer.decode(tokens).equals(problems.get(i).answer())) {
                correct++;
            }
        }
        return (double) correct / problems.size();
    }

    private void writePlot() {
        try {
            LossCurvePlot plot = new LossCurvePlot("Fine-tuning on subtraction", "step", "training loss", 900, 550);
            for (Method method : methods) {
                MetricsLog.Series series = MetricsLog.read(
                        out.resolve(method.cliName()).resolve(TrainingEngine.METRICS_FILE), "loss");
                plot.addSeries(method.cliName(), series.steps(), series.values());
            }
            plot.writePng(out.resolve(PLOT_FILE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.resolve(PLOT_FILE), e);
        }
    }

    /** Builds a {@link Demo}. */
    public static final class Builder {
        private Path out = Path.of("runs", "demo");
        private long seed = 42;
        private int pretrainSteps = 300;
        private int steps = 150;
        private int testProblems = 50;
        private List<Method> methods = List.of(Method.FULL, Method.LORA, Method.LORA_PRO);

        private Builder() {}

        /** The output directory; runs/demo by default. */
        public Builder optOut(Path out) {
            this.out = Objects.requireNonNull(out, "out");
            return this;
        }

        /** The seed of data, initialisation and shuffling; 42 by default. */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /** Pretraining steps; 300 by default. */
        public Builder optPretrainSteps(int pretrainSteps) {
            this.pretrainSteps = pretrainSteps;
            return this;
        }

        /** Fine-tuning steps per method; 150 by default. */
        public Builder optSteps(int steps) {
            this.steps = steps;
            return this;
        }

        /** Held-out problems for exact match; 50 by default. */
        public Builder optTestProblems(int testProblems) {
            this.testProblems = testProblems;
            return this;
        }

        /** The compared methods; full, lora and lora-pro by default. */
        public Builder optMethods(List<Method> methods) {
            this.methods = List.copyOf(methods);
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws ai.lorapro.InvalidInputException for a non-positive budget
         */
        public Demo build() {
            if (pretrainSteps < 1 || steps < 1 || testProblems < 1 || testProblems > 60) {
                throw new ai.lorapro.InvalidInputException("--steps and --pretrain-steps must be >= 1, got "
                        + steps + " and " + pretrainSteps);
            }
            return new Demo(this);
        }
    }
}
