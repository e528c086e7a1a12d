package ai.lorapro.demo;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.lorapro.InvalidInputException;
import ai.lorapro.io.AtomicFiles;
import ai.lorapro.models.llama.LlamaConfig;
import ai.lorapro.optim.StateDType;
import ai.lorapro.train.Method;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * The self-contained demo: for each of several seeds, pretrains a small Llama-architecture model
 * on generated addition, then fine-tunes copies of it on a {@link Skill} it never saw with full
 * fine-tuning, LoRA and LoRA-Pro under the same budget; reports per method the mean and standard
 * deviation over seeds of held-out loss and exact match, which differences exceed that spread,
 * and a plot of the mean training curves with their spread.
 *
 * <p>Each method uses its own learning rate, chosen by {@link #sweep} (one grid for all methods,
 * best mean loss on validation problems that are disjoint from the test problems).
 */
public final class Demo {

    /**
     * The learning rates of the default demo, chosen by {@code ./lorapro demo --sweep} (see
     * docs/reproduction.md).
     */
    public static final Map<Method, Float> CHOSEN_LEARNING_RATES = Map.of(
            Method.FULL, 2e-3f, Method.LORA, 5e-3f, Method.LORA_PRO, 5e-3f);
    /** The learning rates the sweep tries, for every method. */
    public static final List<Float> SWEEP_GRID = List.of(5e-4f, 1e-3f, 2e-3f, 5e-3f, 1e-2f);
    /** The skill of the default demo. */
    public static final Skill DEFAULT_SKILL = Skill.PERMUTED_SUM;
    /** The results table written to the output directory. */
    public static final String TABLE_FILE = "results.md";
    /** The learning-rate sweep's table written to the output directory. */
    public static final String SWEEP_FILE = "sweep.md";
    /** The loss curves written to the output directory. */
    public static final String PLOT_FILE = "loss_curves.png";
    /** The file that marks a directory as a demo's output and lists the entries the demo created. */
    public static final String MARKER = ".lorapro-demo";
    /** The folder of the first seed's adapters. */
    static final String ADAPTERS_DIR = "adapters";
    /** The first line of a mark. */
    static final String MARK_HEADER = "lorapro demo outputs, v1";

    private static final int MAX_OPERAND = 49;

    private final Path out;
    private final long firstSeed;
    private final int seeds;
    private final int pretrainSteps;
    private final int steps;
    private final int trainProblems;
    private final int validationProblems;
    private final int testProblems;
    private final Skill skill;
    private final List<Method> methods;
    private final Map<Method, Float> learningRates;
    private final StateDType stateDType;

    private Demo(Builder b) {
        this.out = b.out;
        this.firstSeed = b.firstSeed;
        this.seeds = b.seeds;
        this.pretrainSteps = b.pretrainSteps;
        this.steps = b.steps;
        this.trainProblems = b.trainProblems;
        this.validationProblems = b.validationProblems;
        this.testProblems = b.testProblems;
        this.skill = b.skill;
        this.methods = List.copyOf(b.methods);
        this.learningRates = new EnumMap<>(b.learningRates);
        this.stateDType = b.stateDType;
    }

    /** A builder with the defaults of {@code ./lorapro demo}. */
    public static Builder builder() {
        return new Builder();
    }

    /** One seed's data and pretrained model. */
    private record Seeded(long seed, Path dir, Path base, List<ArithmeticCorpus.Problem> train,
            List<ArithmeticCorpus.Problem> validation, List<ArithmeticCorpus.Problem> test) {}

    /**
     * Readies the output directory for {@link #run} (or, with {@code sweep}, {@link #sweep}), before
     * anything is deleted or written:
     *
     * <ul>
     *   <li>a new or empty directory (or one holding only a mark) is taken as it is;
     *   <li>a non-empty one needs {@code overwrite} and a {@value #MARKER} mark in its own format,
     *       which lists the entries an earlier demo created there; those are deleted, and nothing else;
     *   <li>an entry this run would write into that the mark does not list (a folder the user made,
     *       say) is refused.
     * </ul>
     *
     * The mark is then written anew, listing what this run creates.
     *
     * @throws InvalidInputException naming the directory and the entry, before anything is deleted
     * @throws IOException if the mark cannot be read or an earlier output cannot be deleted
     */
    public void prepareOutput(boolean overwrite, boolean sweep) throws IOException {
        Path marker = out.resolve(MARKER);
        List<String> entries = new ArrayList<>();
        if (Files.isDirectory(out)) {
            try (DirectoryStream<Path> listing = Files.newDirectoryStream(out)) {
                listing.forEach(entry -> entries.add(entry.getFileName().toString()));
            }
        }
        entries.remove(MARKER);
        List<String> earlier = List.of();
        if (!entries.isEmpty()) {
            if (!overwrite) {
                throw new InvalidInputException("--out: " + out + " is not empty; pass --overwrite to replace an earlier"
                        + " demo's outputs there, or choose another directory");
            }
            earlier = markedEntries(marker);
        }
        List<String> created = new ArrayList<>();
        for (int i = 0; i < seeds; i++) {
            created.add("seed-" + (firstSeed + i));
        }
        created.addAll(sweep ? List.of(SWEEP_FILE) : List.of(ADAPTERS_DIR, TABLE_FILE, PLOT_FILE));
        for (String name : created) {
            if (entries.contains(name) && !earlier.contains(name)) {
                throw new InvalidInputException("--out: " + out + " holds " + name + ", which this demo would write"
                        + " into and no earlier demo made (its mark does not list it); choose another directory");
            }
        }
        for (String name : earlier) {
            AtomicFiles.deleteRecursively(out.resolve(name));
        }
        AtomicFiles.writeString(marker, MARK_HEADER + "\n" + String.join("\n", created) + "\n");
    }

    /**
     * The entries a demo's mark lists: its first line is {@link #MARK_HEADER}, each other line a name
     * a demo gives its outputs.
     *
     * @throws InvalidInputException naming the directory when there is no such mark
     */
    private List<String> markedEntries(Path marker) throws IOException {
        List<String> lines = Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS) ? Files.readAllLines(marker)
                : List.of();
        List<String> names = lines.isEmpty() ? List.of() : lines.subList(1, lines.size());
        boolean valid = !lines.isEmpty() && MARK_HEADER.equals(lines.get(0)) && !names.isEmpty() && names.stream()
                .allMatch(n -> n.matches("seed-\\d+") || List.of(ADAPTERS_DIR, TABLE_FILE, SWEEP_FILE, PLOT_FILE).contains(n));
        if (!valid) {
            throw new InvalidInputException("--out: " + out + " has no " + MARKER + " mark of a demo (it is not a"
                    + " demo's, or was written before demos listed their outputs), and --overwrite deletes only what"
                    + " a demo lists there; choose a new or empty directory");
        }
        return names;
    }

    /**
     * Runs the demo, printing progress and the report to {@code console}, and writes the report
     * and the plot to the output directory.
     *
     * @return every fine-tuning run
     */
    public List<MethodRun> run(PrintWriter console) {
        return singleThreaded(() -> {
            FineTuning fineTuning = fineTuning();
            List<MethodRun> runs = new ArrayList<>();
            double[] baseExactMatch = new double[seeds];
            for (int i = 0; i < seeds; i++) {
                Seeded s = prepare(firstSeed + i, fineTuning, console);
                baseExactMatch[i] = fineTuning.baseExactMatch(s.base(), s.test());
                for (Method method : methods) {
                    float lr = learningRates.get(method);
                    MethodRun r = fineTuning.run(method, lr, s.seed(), s.base(), s.train(), s.test(),
                            s.dir().resolve(method.id()),
                            i == 0 ? out.resolve(ADAPTERS_DIR).resolve(method.id()) : null);
                    console.printf(Locale.ROOT, "  %-9s lr %s: held-out loss %.4f, exact match %5.1f%%, %.1f s%n",
                            method.id(), ResultsTable.lr(lr), r.evalLoss(), 100 * r.exactMatch(), r.seconds());
                    console.flush();
                    runs.add(r);
                }
            }
            String report = ResultsTable.markdown(header() + learningRatesLine(), runs, baseExactMatch);
            writePlot(runs);
            AtomicFiles.writeString(out.resolve(TABLE_FILE), report);
            console.println();
            console.print(report);
            console.printf("%nloss curves: %s%nadapters (seed %d): %s%nreport: %s%n", out.resolve(PLOT_FILE),
                    firstSeed, out.resolve(ADAPTERS_DIR), out.resolve(TABLE_FILE));
            console.flush();
            return runs;
        });
    }

    /**
     * The learning-rate sweep: every method with every rate of {@link #SWEEP_GRID} on every seed,
     * measured on the validation problems; prints and writes the mean validation loss per method
     * and rate, and the best rate per method.
     *
     * @return the best rate of each method
     */
    public Map<Method, Float> sweep(PrintWriter console) {
        return singleThreaded(() -> {
            FineTuning fineTuning = fineTuning();
            Map<Method, double[][]> losses = new EnumMap<>(Method.class);
            for (Method method : methods) {
                losses.put(method, new double[SWEEP_GRID.size()][seeds]);
            }
            for (int i = 0; i < seeds; i++) {
                Seeded s = prepare(firstSeed + i, fineTuning, console);
                for (Method method : methods) {
                    for (int k = 0; k < SWEEP_GRID.size(); k++) {
                        float lr = SWEEP_GRID.get(k);
                        MethodRun r = fineTuning.run(method, lr, s.seed(), s.base(), s.train(), s.validation(),
                                s.dir().resolve("sweep").resolve(method.id() + "-lr-" + ResultsTable.lr(lr)),
                                null);
                        losses.get(method)[k][i] = r.evalLoss();
                        console.printf(Locale.ROOT, "  %-9s lr %s: validation loss %.4f, exact match %5.1f%%%n",
                                method.id(), ResultsTable.lr(lr), r.evalLoss(), 100 * r.exactMatch());
                        console.flush();
                    }
                }
            }
            Map<Method, Float> best = new EnumMap<>(Method.class);
            String report = SweepTable.markdown(header(), SWEEP_GRID, losses, best);
            AtomicFiles.writeString(out.resolve(SWEEP_FILE), report);
            console.println();
            console.print(report);
            console.flush();
            return best;
        });
    }

    private FineTuning fineTuning() {
        CharTokenizer tokenizer = new CharTokenizer();
        LlamaConfig config = DemoModel.config(tokenizer);
        return new FineTuning(config, tokenizer, new ArithmeticCorpus(tokenizer, MAX_OPERAND), steps, stateDType);
    }

    private Seeded prepare(long seed, FineTuning fineTuning, PrintWriter console) {
        Path dir = out.resolve("seed-" + seed);
        console.printf("seed %d: pretraining a %d-layer Llama (hidden %d) on addition for %d steps, then "
                + "fine-tuning on %s for %d steps%n", seed, fineTuning.config().numHiddenLayers(),
                fineTuning.config().hiddenSize(), pretrainSteps, skill.description(), steps);
        console.flush();
        Path base = DemoModel.pretrain(fineTuning.config(),
                fineTuning.corpus().pretraining(pretrainSteps * DemoModel.BATCH, seed + 1), pretrainSteps, seed,
                dir.resolve("pretrain"));
        List<List<ArithmeticCorpus.Problem>> split = fineTuning.corpus().splits(skill, seed, trainProblems,
                validationProblems, testProblems);
        return new Seeded(seed, dir, base, split.get(0), split.get(1), split.get(2));
    }

    private String header() {
        return String.format(Locale.ROOT, "Fine-tuning on %s (operands 0..%d): %d seed(s) from %d, %d steps x %d "
                + "examples, %d training / %d validation / %d test problems per seed, LoRA r = %d, alpha = %.0f%s.%n",
                skill.description(), MAX_OPERAND, seeds, firstSeed, steps, DemoModel.BATCH, trainProblems,
                validationProblems, testProblems, FineTuning.RANK, FineTuning.ALPHA,
                stateDType == StateDType.FP32 || !methods.contains(Method.LORA_PRO) ? ""
                        : ", LoRA-Pro moments stored as " + stateDType.id());
    }

    private String learningRatesLine() {
        StringBuilder lrs = new StringBuilder();
        for (Method m : methods) {
            lrs.append(lrs.length() == 0 ? "" : ", ").append(m.id()).append(' ')
                    .append(ResultsTable.lr(learningRates.get(m)));
        }
        return "Learning rates: " + lrs + " (for the default skill and budget, the rates of lowest mean validation "
                + "loss in ./lorapro demo --sweep --seeds 2).\n";
    }

    private void writePlot(List<MethodRun> runs) {
        BandPlot plot = new BandPlot("Fine-tuning on " + skill.description() + " (" + seeds + (seeds == 1 ? " seed)" : " seeds)"));
        for (Method method : methods) {
            plot.add(method.id(), runs.stream().filter(r -> r.method() == method).map(MethodRun::losses).toList());
        }
        plot.writePng(out.resolve(PLOT_FILE));
    }

    /**
     * Runs {@code body} with one PyTorch intra-op thread: the model is so small that more threads
     * only add synchronisation, and on a busy machine their spin-waiting made a step 10-20x slower.
     */
    private static <T> T singleThreaded(java.util.function.Supplier<T> body) {
        Engine.getInstance(); // loads the native library
        int threads = JniUtils.getNumThreads();
        JniUtils.setNumThreads(1);
        try {
            return body.get();
        } finally {
            JniUtils.setNumThreads(threads);
        }
    }

    /** Builds a {@link Demo}. */
    public static final class Builder {
        private Path out = Path.of("runs", "demo");
        private long firstSeed = 42;
        private int seeds = 5;
        private int pretrainSteps = 300;
        private int steps = 150;
        private int trainProblems = 600;
        private int validationProblems = 200;
        private int testProblems = 400;
        private Skill skill = DEFAULT_SKILL;
        private List<Method> methods = List.of(Method.FULL, Method.LORA, Method.LORA_PRO);
        private Map<Method, Float> learningRates = CHOSEN_LEARNING_RATES;
        private StateDType stateDType = StateDType.FP32;

        private Builder() {}

        /** The output directory; runs/demo by default. */
        public Builder optOut(Path out) {
            this.out = Objects.requireNonNull(out, "out");
            return this;
        }

        /** The first seed; seeds are consecutive from it; 42 by default. */
        public Builder optSeed(long firstSeed) {
            this.firstSeed = firstSeed;
            return this;
        }

        /** The number of seeds; 5 by default. */
        public Builder optSeeds(int seeds) {
            this.seeds = seeds;
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

        /** Train, validation and test problems per seed; 600, 200 and 400 by default. */
        public Builder optProblems(int train, int validation, int test) {
            this.trainProblems = train;
            this.validationProblems = validation;
            this.testProblems = test;
            return this;
        }

        /** The fine-tuning skill; {@link #DEFAULT_SKILL} by default. */
        public Builder optSkill(Skill skill) {
            this.skill = Objects.requireNonNull(skill, "skill");
            return this;
        }

        /** The compared methods; full, lora and lora-pro by default. */
        public Builder optMethods(List<Method> methods) {
            this.methods = List.copyOf(methods);
            return this;
        }

        /** The learning rate of each method; {@link #CHOSEN_LEARNING_RATES} by default. */
        public Builder optLearningRates(Map<Method, Float> learningRates) {
            this.learningRates = Map.copyOf(learningRates);
            return this;
        }

        /** How LoRA-Pro's full-mode moments are stored; fp32 by default (the other methods ignore it). */
        public Builder optStateDType(StateDType stateDType) {
            this.stateDType = Objects.requireNonNull(stateDType, "stateDType");
            return this;
        }

        /**
         * Validates and builds.
         *
         * @throws InvalidInputException for a non-positive budget or a method without a learning rate
         */
        public Demo build() {
            if (pretrainSteps < 1 || steps < 1 || seeds < 1) {
                throw new InvalidInputException("--steps, --pretrain-steps and --seeds must be >= 1, got "
                        + steps + ", " + pretrainSteps + " and " + seeds);
            }
            if (trainProblems < 1 || validationProblems < 1 || testProblems < 1) {
                throw new InvalidInputException("problem counts must be >= 1, got " + trainProblems + " / "
                        + validationProblems + " / " + testProblems);
            }
            for (Method m : methods) {
                if (!learningRates.containsKey(m)) {
                    throw new InvalidInputException("--methods: no learning rate for " + m.id());
                }
            }
            return new Demo(this);
        }
    }
}
