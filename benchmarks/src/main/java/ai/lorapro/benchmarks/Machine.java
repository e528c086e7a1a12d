package ai.lorapro.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the numbers were measured on, read from /proc where it exists. */
final class Machine {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");
    private static final Path LOADAVG = Path.of("/proc/loadavg");
    private static final Path STATUS = Path.of("/proc/self/status");

    private Machine() {}

    /** CPU model, the cores the JVM may use, OS and Java version. */
    static String description() {
        return cpuModel()
                + ", "
                + Runtime.getRuntime().availableProcessors()
                + " cores, "
                + System.getProperty("os.name")
                + " "
                + System.getProperty("os.arch")
                + ", Java "
                + System.getProperty("java.version");
    }

    /**
     * The CPU model name with its family and model numbers (a VM may name only the vendor, "AMD
     * EPYC", for CPUs of different generations), or the architecture if /proc/cpuinfo is unreadable.
     */
    static String cpuModel() {
        String name = null;
        String family = null;
        String model = null;
        for (String line : lines(CPUINFO)) {
            String value = line.substring(line.indexOf(':') + 1).trim();
            if (name == null && line.startsWith("model name")) {
                name = value;
            } else if (family == null && line.startsWith("cpu family")) {
                family = value;
            } else if (model == null && line.matches("model\\s*:.*")) {
                model = value;
            }
        }
        if (name == null) {
            return System.getProperty("os.arch");
        }
        return family == null ? name : name + " (family " + family + (model == null ? "" : " model " + model) + ")";
    }

    /** The one-minute load average, or -1 if unknown. */
    static double loadAverage() {
        List<String> lines = lines(LOADAVG);
        if (lines.isEmpty()) {
            return -1;
        }
        return Double.parseDouble(lines.get(0).split("\\s+")[0]);
    }

    /** A field of /proc/self/status in bytes (e.g. VmHWM, VmRSS), or -1 if unknown. */
    static long statusBytes(String field) {
        for (String line : lines(STATUS)) {
            if (line.startsWith(field + ":")) {
                String[] parts = line.substring(field.length() + 1).trim().split("\\s+");
                long value = Long.parseLong(parts[0]);
                return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? value * 1024 : value;
            }
        }
        return -1;
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException | SecurityException e) {
            return List.of();
        }
    }
}
