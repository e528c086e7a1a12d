package ai.lorapro.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs one {@code lorapro train} process under {@code /usr/bin/time -v} and watches it from outside
 * every {@value #POLL_MS} ms: its resident memory ({@code VmRSS}, {@code VmHWM} in /proc), when each
 * line of its {@code metrics.jsonl} appears (one per optimizer step), and when its final checkpoint
 * is being written (the temporary {@code checkpoints/step-N.tmp-*} directory exists) and published.
 * A process whose resident memory passes {@code rssLimitBytes} is killed, so that a run that does
 * not fit cannot push a shared machine into its OOM killer.
 */
final class RunSampler {

    static final int POLL_MS = 20;

    /** What was observed; times in seconds since the process started, -1 when not seen. */
    static final class Observation {
        int exitCode;
        boolean killedForMemory;
        long peakRssBytes = -1;
        long sampledPeakRssBytes;
        long rssBeforeSaveBytes = -1;
        long peakRssDuringSaveBytes = -1;
        double saveStart = -1;
        double saveEnd = -1;
        double elapsed;
        final List<Double> stepLineTimes = new ArrayList<>();
        String stderrTail = "";
    }

    private RunSampler() {}

    static Observation run(List<String> command, Path runDir, Path logFile, long rssLimitBytes)
            throws IOException, InterruptedException {
        List<String> timed = new ArrayList<>(List.of("/usr/bin/time", "-v"));
        timed.addAll(command);
        Files.createDirectories(logFile.getParent());
        Process process = new ProcessBuilder(timed).redirectErrorStream(true)
                .redirectOutput(logFile.toFile()).start();
        long t0 = System.nanoTime();
        Observation o = new Observation();
        long javaPid = -1;
        Path metrics = runDir.resolve("metrics.jsonl");
        Path checkpoints = runDir.resolve("checkpoints");
        long metricsSize = 0;
        while (process.isAlive()) {
            double now = (System.nanoTime() - t0) / 1e9;
            if (javaPid < 0) {
                javaPid = child(process.pid());
            }
            long rss = javaPid < 0 ? -1 : status(javaPid, "VmRSS");
            if (rss > 0) {
                o.sampledPeakRssBytes = Math.max(o.sampledPeakRssBytes, rss);
                if (rss > rssLimitBytes) {
                    process.descendants().forEach(ProcessHandle::destroyForcibly);
                    o.killedForMemory = true;
                }
            }
            if (Files.exists(metrics) && Files.size(metrics) != metricsSize) {
                metricsSize = Files.size(metrics);
                long lines = lineCount(metrics);
                while (o.stepLineTimes.size() < lines) {
                    o.stepLineTimes.add(now);
                }
            }
            if (o.saveEnd < 0 && Files.isDirectory(checkpoints)) {
                boolean temporary = false;
                boolean published = false;
                try (Stream<Path> entries = Files.list(checkpoints)) {
                    for (Path p : (Iterable<Path>) entries::iterator) {
                        String name = p.getFileName().toString();
                        temporary |= name.contains(".tmp-");
                        published |= name.matches("step-\\d+");
                    }
                } catch (IOException e) {
                    // the directory changed while listing; look again at the next poll
                }
                if (temporary && o.saveStart < 0) {
                    o.saveStart = now;
                    o.rssBeforeSaveBytes = rss;
                }
                if (o.saveStart >= 0 && rss > 0) {
                    o.peakRssDuringSaveBytes = Math.max(o.peakRssDuringSaveBytes, rss);
                }
                if (published && o.saveStart >= 0) {
                    o.saveEnd = now;
                }
            }
            process.waitFor(POLL_MS, TimeUnit.MILLISECONDS);
        }
        o.exitCode = process.waitFor();
        o.elapsed = (System.nanoTime() - t0) / 1e9;
        List<String> log = Files.readAllLines(logFile, StandardCharsets.UTF_8);
        for (String line : log) {
            String trimmed = line.trim();
            if (trimmed.startsWith("Maximum resident set size (kbytes):")) {
                o.peakRssBytes = 1024 * Long.parseLong(trimmed.substring(trimmed.indexOf(':') + 1).trim());
            }
        }
        o.stderrTail = String.join(" | ", log.stream()
                .filter(l -> l.startsWith("error:") || l.contains("Exception") || l.startsWith("Command terminated"))
                .limit(3).toList());
        return o;
    }

    /** The first child of {@code pid} (the JVM under /usr/bin/time), or -1 while there is none. */
    private static long child(long pid) {
        try {
            String children = Files.readString(Path.of("/proc/" + pid + "/task/" + pid + "/children")).trim();
            return children.isEmpty() ? -1 : Long.parseLong(children.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** A memory field of /proc/PID/status in bytes, or -1. */
    private static long status(long pid, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
                if (line.startsWith(field + ":")) {
                    return 1024 * Long.parseLong(line.substring(field.length() + 1).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process has just exited
        }
        return -1;
    }

    private static long lineCount(Path file) throws IOException {
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.filter(l -> l.contains("\"loss\"")).count();
        }
    }
}
