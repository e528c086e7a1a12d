package ai.lorapro.benchmarks;

import ai.lorapro.io.TensorDType;
import ai.lorapro.models.random.ModelPreset;
import ai.lorapro.models.random.RandomModel;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The scale benchmark: for each model size and method, one {@code lorapro train} process (the real
 * command line, in its own JVM) on a random-weight model written by {@code lorapro random-model},
 * watched from outside by {@link RunSampler}. Each run trains {@code steps} optimizer steps of
 * {@code batch} x {@code seq} tokens (images for CLIP) and writes its final checkpoint; the JSON line
 * gives the start-up time (JVM start to the first step's start: config, tokenizer, data, weights),
 * the median step time over steps 2..N, throughput, peak RSS (from {@code /usr/bin/time -v}), the
 * optimizer's checkpointed state, and the checkpoint's save time and peak sampled RSS while saving.
 */
final class ScaleBench {

    /** Models, smallest first. */
    static final List<String> MODELS = List.of("llama-29m", "llama-160m", "tinyllama-1.1b", "t5-base", "t5-large",
            "clip-vit-base-patch16");
    /** Methods. */
    static final List<String> METHODS = List.of("full", "lora", "lora-pro", "lora-pro-efficient");

    private final Settings settings;
    private final PrintStream out;

    /**
     * @param models which of {@link #MODELS}
     * @param methods which of {@link #METHODS}
     * @param frozen base-weight types: fp32 and/or fp16
     * @param steps optimizer steps per run (at least 2)
     * @param batch examples per step
     * @param seq tokens per example (text models)
     * @param modelsDir where random models are kept ({@code <name>-bf16}), written when missing
     * @param workDir where the runs write
     * @param rssLimitGb a run whose RSS passes this is killed and reported
     */
    record Settings(List<String> models, List<String> methods, List<String> frozen, int steps, int batch, int seq,
            Path modelsDir, Path workDir, double rssLimitGb) {}

    ScaleBench(Settings settings, PrintStream out) {
        this.settings = settings;
        this.out = out;
    }

    void run() throws IOException, InterruptedException {
        for (String model : settings.models()) {
            Path modelDir = ensureModel(model);
            long params = RandomModel.layout(modelDir.resolve("config.json")).parameterCount();
            for (String method : settings.methods()) {
                for (String frozen : settings.frozen()) {
                    if (method.equals("full") && frozen.equals("fp16")) {
                        continue; // full fine-tuning has no frozen weights
                    }
                    out.println(runCase(model, modelDir, params, method, frozen));
                }
            }
        }
    }

    private JsonLine runCase(String model, Path modelDir, long params, String method, String frozen)
            throws IOException, InterruptedException {
        String kind = kind(model);
        Path caseDir = settings.workDir().resolve(model + "-" + method + "-" + frozen);
        deleteTree(caseDir);
        Path runDir = caseDir.resolve("run");
        List<String> command = new ArrayList<>(List.of(javaBinary(), "-Dai.djl.offline=true",
                "-cp", System.getProperty("java.class.path"), "ai.lorapro.cli.LoraProCli", "train"));
        int perStep = settings.batch();
        switch (kind) {
            case "t5":
                command.addAll(List.of("--task", "glue-sst2", "--data",
                        ScaleInputs.sst2(caseDir, 2 * perStep, 4 * settings.seq()).toString()));
                break;
            case "clip":
                command.addAll(List.of("--task", "image-folder", "--data",
                        ScaleInputs.imageFolder(caseDir.resolve("images"), perStep, 224).toString()));
                break;
            default:
                command.addAll(List.of("--data", ScaleInputs.causalText(caseDir, 2 * perStep, 4 * settings.seq()).toString()));
        }
        command.addAll(List.of("--model", modelDir.toString(), "--out", runDir.toString(), "--method", method,
                "--max-steps", Integer.toString(settings.steps()), "--global-batch", Integer.toString(perStep),
                "--micro-batch", Integer.toString(perStep), "--max-seq-length", Integer.toString(settings.seq()),
                "--warmup-ratio", "0", "--checkpoint-interval", "0", "--log-interval", "1", "--device", "cpu"));
        if (frozen.equals("fp16")) {
            command.add("--fp16-frozen");
        }
        String uptime = uptime();
        RunSampler.Observation o = RunSampler.run(command, runDir, caseDir.resolve("log.txt"),
                (long) (settings.rssLimitGb() * 1e9));
        JsonLine line = JsonLine.of("scale").put("model", model).put("params", params).put("method", method)
                .put("frozen", frozen).put("batch", perStep).put("seq", kind.equals("clip") ? 0 : settings.seq())
                .put("steps", settings.steps());
        double[] stepSeconds = stepSeconds(runDir.resolve("metrics.jsonl"), o);
        boolean ok = o.exitCode == 0 && !o.killedForMemory;
        line.put("ok", ok);
        if (!ok) {
            line.put("exit_code", o.exitCode).put("killed_over_rss_gb", o.killedForMemory ? settings.rssLimitGb() : null)
                    .put("error", o.stderrTail);
        }
        if (stepSeconds.length > 0) {
            double median = median(Arrays.copyOfRange(stepSeconds, 1, stepSeconds.length));
            double firstLine = o.stepLineTimes.isEmpty() ? -1 : o.stepLineTimes.get(0);
            line.put("load_s", firstLine - stepSeconds[0])
                    .put("step_s", median)
                    .put("first_step_s", stepSeconds[0])
                    .put(kind.equals("clip") ? "images_per_s" : "tokens_per_s",
                            (kind.equals("clip") ? perStep : (double) perStep * settings.seq()) / median);
        }
        line.put("peak_rss_bytes", o.peakRssBytes)
                .put("state_bytes", fileSize(runDir.resolve("checkpoints").resolve(String.format("step-%06d",
                        settings.steps())).resolve("optimizer.safetensors")))
                .put("save_s", o.saveEnd >= 0 ? o.saveEnd - o.saveStart : null)
                .put("rss_before_save_bytes", o.rssBeforeSaveBytes)
                .put("peak_rss_during_save_bytes", o.peakRssDuringSaveBytes)
                .put("elapsed_s", o.elapsed)
                .put("omp_num_threads", System.getenv().getOrDefault("OMP_NUM_THREADS", "unset"))
                .put("uptime_before", uptime)
                .put("uptime_after", uptime());
        return line.withMachine();
    }

    /**
     * Each step's wall time: from step 2 on, the gap between the arrivals of its metrics line and
     * the one before (nothing else runs between two steps); step 1 from step 2's time and the ratio
     * of their {@code tokens_per_s} (the engine's own timing; both steps have the same shape).
     */
    private static double[] stepSeconds(Path metrics, RunSampler.Observation o) throws IOException {
        if (!Files.exists(metrics) || o.stepLineTimes.size() < 2) {
            return new double[0];
        }
        List<Double> throughput = new ArrayList<>();
        for (String text : Files.readAllLines(metrics, StandardCharsets.UTF_8)) {
            JsonObject line = JsonParser.parseString(text).getAsJsonObject();
            if (line.has("loss") && line.has("tokens_per_s")) {
                throughput.add(line.get("tokens_per_s").getAsDouble());
            }
        }
        int n = Math.min(throughput.size(), o.stepLineTimes.size());
        double[] seconds = new double[n];
        for (int k = 1; k < n; k++) {
            seconds[k] = o.stepLineTimes.get(k) - o.stepLineTimes.get(k - 1);
        }
        seconds[0] = seconds[1] * throughput.get(1) / throughput.get(0);
        return seconds;
    }

    private Path ensureModel(String model) throws IOException {
        Path dir = settings.modelsDir().resolve(model + "-bf16");
        if (Files.isRegularFile(dir.resolve("config.json")) && !Files.exists(dir.resolve(".READY"))
                && !Files.exists(dir.resolve("model.safetensors")) && !Files.exists(dir.resolve("model.safetensors.index.json"))) {
            throw new IOException(dir + " is incomplete");
        }
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            JsonObject config = model.equals("llama-29m")
                    ? JsonParser.parseString(Files.readString(Path.of("benchmarks/configs/llama-29m.json"))).getAsJsonObject()
                    : ModelPreset.fromId(model).config();
            RandomModel.write(config, dir, new RandomModel.Options(TensorDType.BF16, 42, 2_000_000_000L));
            Files.createFile(dir.resolve(".READY"));
        }
        return dir;
    }

    /** The output of {@code uptime} (load averages), or /proc/loadavg where the command is missing. */
    private static String uptime() throws IOException, InterruptedException {
        try {
            Process p = new ProcessBuilder("uptime").redirectErrorStream(true).start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? text : Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        }
    }

    private static String kind(String model) {
        return model.startsWith("t5") ? "t5" : model.startsWith("clip") ? "clip" : "llama";
    }

    private static String javaBinary() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static long fileSize(Path file) throws IOException {
        return Files.isRegularFile(file) ? Files.size(file) : -1;
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted((a, b) -> b.compareTo(a))::iterator) {
                Files.delete(p);
            }
        }
    }
}
