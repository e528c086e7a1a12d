package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDManager;

import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
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
    public static void main(String[] args) throws java.io.IOException, InterruptedException {
        if (args.length == 0) {
            usage();
            return;
        }
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String bench = args[0];
        List<String> rest = Arrays.asList(args).subList(1, args.length);
        try (NDManager root = NDManager.newBaseManager()) {
            switch (bench) {
                case "optimizer-step":
                    new OptimizerStepBench(
                                    option(rest, "--warmup", 2),
                                    option(rest, "--steps", 7),
                                    methods(rest, OptimizerStepBench.METHODS),
                                    mibList(stringOption(rest, "--bandwidth-mib", "512,4096")),
                                    stringOption(rest, "--shapes", "llama-2-7b"),
                                    option(rest, "--rank", OptimizerStepBench.DEFAULT_RANK),
                                    out)
                            .run(root);
                    break;
                case "train-step":
                    new TrainStepBench(option(rest, "--warmup", 2), option(rest, "--steps", 7), out)
                            .run(root, methods(rest, TrainSetup.DEFAULT_METHODS));
                    break;
                case "loss-curve":
                    new LossCurveBench(option(rest, "--steps", 20), out)
                            .run(root, methods(rest, List.of("lora-pro", "lora-pro-bf16", "lora-pro-tensor")));
                    break;
                case "gram":
                    new GramBench(option(rest, "--warmup", 2), option(rest, "--steps", 7),
                                    mibList(stringOption(rest, "--ranks", "8,16,64")).stream().map(Long::intValue).toList(),
                                    out)
                            .run(root);
                    break;
                case "memory":
                    new MemoryBench(option(rest, "--steps", 3), out).run(root, stringOption(rest, "--method", "lora-pro"));
                    break;
                case "scale":
                    new ScaleBench(new ScaleBench.Settings(methods(rest, ScaleBench.MODELS, "--models"),
                            methods(rest, ScaleBench.METHODS), methods(rest, List.of("fp32", "fp16"), "--frozen"),
                            option(rest, "--steps", 4), option(rest, "--batch", 4), option(rest, "--seq", 64),
                            Path.of(stringOption(rest, "--models-dir", "target/scale-models")),
                            Path.of(stringOption(rest, "--work-dir", "target/scale-runs")),
                            Double.parseDouble(stringOption(rest, "--rss-limit-gb", "20"))), out).run();
                    break;
                case "scale-plot":
                    ScalePlot.write(Path.of(stringOption(rest, "--in", "benchmarks/results/scale.jsonl")),
                            Path.of(stringOption(rest, "--out", "docs/scale.png")));
                    break;
                default:
                    usage();
                    System.exit(2);
            }
        }
    }

    private static void usage() {
        System.err.println("usage: Bench optimizer-step|train-step|memory|loss-curve|scale|scale-plot|gram [--warmup N] [--steps N] [--methods a,b] [--method m] [--bandwidth-mib 512,4096] [--shapes llama-2-7b|tinyllama] [--rank 8]");
    }

    private static List<String> methods(List<String> args, List<String> all) {
        return methods(args, all, "--methods");
    }

    private static List<String> methods(List<String> args, List<String> all, String option) {
        return Arrays.asList(stringOption(args, option, String.join(",", all)).split(","));
    }

    private static List<Long> mibList(String text) {
        List<Long> sizes = new java.util.ArrayList<>();
        for (String part : text.split(",")) {
            sizes.add(Long.parseLong(part.trim()));
        }
        return sizes;
    }

    private static int option(List<String> args, String name, int fallback) {
        return Integer.parseInt(stringOption(args, name, Integer.toString(fallback)));
    }

    private static String stringOption(List<String> args, String name, String fallback) {
        int i = args.indexOf(name);
        if (i < 0) {
            return fallback;
        }
        if (i + 1 >= args.size()) {
            throw new IllegalArgumentException(name + " needs a value");
        }
        return args.get(i + 1);
    }
}
