package ai.lorapro.train;

import java.util.Locale;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Formats progress: counts, loss, learning rate, throughput, elapsed time and an ETA extrapolated
 * from the steps done since the run (or its resume) started.
 */
final class ProgressLine {

    private static final int BAR_WIDTH = 24;

    private final long startStep;
    private final long totalSteps;
    /** What the throughput counts: "tok", or "img" ({@link TrainTask#throughputUnit()}). */
    private final String unit;
    private final LongSupplier nanoClock;
    private final long startNanos;

    ProgressLine(long startStep, long totalSteps, LongSupplier nanoClock) {
        this(startStep, totalSteps, nanoClock, TrainTask.TOKENS);
    }

    ProgressLine(long startStep, long totalSteps, LongSupplier nanoClock, String unit) {
        this.unit = Objects.requireNonNull(unit, "the throughput unit");
        this.startStep = startStep;
        this.totalSteps = Math.max(totalSteps, 1);
        this.nanoClock = nanoClock;
        this.startNanos = nanoClock.getAsLong();
    }

    long totalSteps() {
        return totalSteps;
    }

    /** The plain line logged when not on a terminal. */
    String plain(long step, double loss, double lr, double tokensPerSecond) {
        return String.format(Locale.ROOT,
                "step %d/%d (%.1f%%) loss %.4f lr %.3e %.0f %s/s elapsed %s eta %s",
                step, totalSteps, 100.0 * step / totalSteps, loss, lr, tokensPerSecond, unit,
                duration(elapsedSeconds()), duration(etaSeconds(step)));
    }

    /** The one-line bar drawn on a terminal. */
    String bar(long step, double loss, double lr, double tokensPerSecond) {
        int filled = (int) Math.min(BAR_WIDTH, BAR_WIDTH * step / totalSteps);
        return String.format(Locale.ROOT, "[%s%s] %d/%d loss %.4f lr %.2e %.0f %s/s eta %s",
                "#".repeat(filled), ".".repeat(BAR_WIDTH - filled), step, totalSteps, loss, lr,
                tokensPerSecond, unit, duration(etaSeconds(step)));
    }

    private double elapsedSeconds() {
        return (nanoClock.getAsLong() - startNanos) / 1e9;
    }

    /** Seconds left at the pace so far; negative when unknown. */
    private double etaSeconds(long step) {
        long done = step - startStep;
        if (done <= 0) {
            return -1;
        }
        return elapsedSeconds() / done * Math.max(0, totalSteps - step);
    }

    /** {@code h:mm:ss}, or {@code ?} when unknown. */
    static String duration(double seconds) {
        if (seconds < 0 || !Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
