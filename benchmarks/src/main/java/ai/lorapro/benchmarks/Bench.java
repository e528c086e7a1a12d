package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDManager;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Entry point of the benchmarks; prints one JSON line per result on stdout (logs go to stderr).
 *
 * <pre>
 * Bench optimizer-step [--warmup 2] [--steps 7] [--methods lora-adamw,lora-pro-full,lora-pro-efficient,lora-pro-sgd]
 *     [--bandwidth-mib 512,4096] [--shapes llama-2-7b|tinyllama] [--rank 8]
 * Bench train-step [--warmup 2] [--steps 7] [--methods full,lora,lora-pro,lora-pro-efficient]
 * Bench memory --method lora-pro [--steps 3]
 * Bench loss-curve [--steps 20] [--methods lora-pro,lora-pro-bf16,lora-pro-tensor]
 * Bench scale [--models llama-29m,...] [--methods full,lora,...] [--frozen fp32,fp16] [--steps 4] [--batch 4]
 *     [--seq 64] [--models-dir DIR] [--work-dir DIR] [--rss-limit-gb 20]
 * Bench scale-plot [--in benchmarks/results/scale.jsonl] [--out docs/scale.png]
 * Bench gram [--warmup 2] [--steps 7] [--ranks 8,16,64]
 * </pre>
 */
public final class Bench {

    private Bench() {}

    /**
     * Runs one benchmark.
     *
     * @param args the benchmark name and its options
     */
    public static void main(String[] args) {
        if (args.length == 0) {
            usage();
            return;
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String bench = args[0];
        Runnable run;
        try {
            run = parse(bench, new BenchOptions(Arrays.asList(args).subList(1, args.length)), out);
        } catch (BenchOptions.UsageError e) {
            System.err.println("error: " + bench + ": " + e.getMessage());
            usage();
            System.exit(2);
            return;
        }
        run.run();
    }

    /**
     * The run of {@code bench} with its options read and checked (every option it does not take
     * refused) before anything is measured.
     */
    private static Runnable parse(String bench, BenchOptions o, PrintStream out) {
        Runnable run;
        switch (bench) {
            case "optimizer-step": {
                List<String> methods = new ArrayList<>(OptimizerStepBench.METHODS);
                OptimizerStepBench.METHODS.stream().filter(m -> m.startsWith("lora-pro-full-fused"))
                        .forEach(m -> methods.add(m + OptimizerStepBench.SCALAR_SUFFIX));
                int warmup = o.integer("--warmup", 2, 0);
                int steps = o.integer("--steps", 7, 1);
                List<String> chosen = o.names("--methods", OptimizerStepBench.METHODS, methods);
                List<Long> mib = o.positives("--bandwidth-mib", "512,4096").stream().map(Integer::longValue).toList();
                String shapes = o.name("--shapes", "llama-2-7b", List.copyOf(OptimizerStepBench.SHAPE_SETS.keySet()));
                int rank = o.integer("--rank", OptimizerStepBench.DEFAULT_RANK, 1);
                run = withRoot(root -> new OptimizerStepBench(warmup, steps, chosen, mib, shapes, rank, out).run(root));
                break;
            }
            case "train-step": {
                int warmup = o.integer("--warmup", 2, 0);
                int steps = o.integer("--steps", 7, 1);
                List<String> methods = o.names("--methods", TrainSetup.DEFAULT_METHODS, TrainSetup.METHODS);
                run = withRoot(root -> new TrainStepBench(warmup, steps, out).run(root, methods));
                break;
            }
            case "loss-curve": {
                int steps = o.integer("--steps", 20, 1);
                List<String> methods = o.names("--methods", List.of("lora-pro", "lora-pro-bf16", "lora-pro-tensor"),
                        TrainSetup.METHODS);
                run = withRoot(root -> new LossCurveBench(steps, out).run(root, methods));
                break;
            }
            case "gram": {
                int warmup = o.integer("--warmup", 2, 0);
                int steps = o.integer("--steps", 7, 1);
                List<Integer> ranks = o.positives("--ranks", "8,16,64");
                run = withRoot(root -> new GramBench(warmup, steps, ranks, out).run(root));
                break;
            }
            case "memory": {
                int steps = o.integer("--steps", 3, 1);
                String method = o.name("--method", "lora-pro", TrainSetup.METHODS);
                run = withRoot(root -> new MemoryBench(steps, out).run(root, method));
                break;
            }
            case "scale": {
                ScaleBench.Settings settings = new ScaleBench.Settings(
                        o.names("--models", ScaleBench.MODELS, ScaleBench.MODELS),
                        o.names("--methods", ScaleBench.METHODS, ScaleBench.METHODS),
                        o.names("--frozen", List.of("fp32", "fp16"), List.of("fp32", "fp16")),
                        o.integer("--steps", 4, 1), o.integer("--batch", 4, 1), o.integer("--seq", 64, 2),
                        Path.of(o.string("--models-dir", "target/scale-models")),
                        Path.of(o.string("--work-dir", "target/scale-runs")),
                        o.positiveNumber("--rss-limit-gb", 20));
                run = () -> {
                    try {
                        new ScaleBench(settings, out).run();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException("interrupted", e);
                    }
                };
                break;
            }
            case "scale-plot": {
                Path in = Path.of(o.string("--in", "benchmarks/results/scale.jsonl"));
                Path plot = Path.of(o.string("--out", "docs/scale.png"));
                run = () -> {
                    try {
                        ScalePlot.write(in, plot);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                };
                break;
            }
            default:
                throw new BenchOptions.UsageError("unknown benchmark");
        }
        o.requireAllRead();
        return run;
    }

    /** {@code work} with a base manager of its own, closed after. */
    private static Runnable withRoot(java.util.function.Consumer<NDManager> work) {
        return () -> {
            try (NDManager root = NDManager.newBaseManager()) {
                work.accept(root);
            }
        };
    }

    private static void usage() {
        System.err.println("usage: Bench optimizer-step|train-step|memory|loss-curve|scale|scale-plot|gram [--warmup N] [--steps N] [--methods a,b] [--method m] [--bandwidth-mib 512,4096] [--shapes llama-2-7b|tinyllama] [--rank 8]");
    }
}
