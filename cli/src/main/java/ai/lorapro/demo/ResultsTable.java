package ai.lorapro.demo;

import ai.lorapro.train.Method;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The demo's Markdown report: per method the mean and standard deviation over seeds of the
 * held-out loss, exact match and final training loss (with cost columns), then for each pair of
 * methods whether their means differ by more than the two standard deviations together.
 */
final class ResultsTable {

    private ResultsTable() {}

    /**
     * The report.
     *
     * @param header the lines above the tables (what was run)
     * @param runs every fine-tuning run, any order
     * @param baseExactMatch the pretrained model's exact match, one value per seed
     */
    static String markdown(String header, List<MethodRun> runs, double[] baseExactMatch) {
        Map<Method, List<MethodRun>> byMethod = new LinkedHashMap<>();
        for (MethodRun r : runs) {
            byMethod.computeIfAbsent(r.method(), m -> new ArrayList<>()).add(r);
        }
        StringBuilder sb = new StringBuilder(header).append('\n');
        sb.append("| method | lr | held-out loss | exact match (%) | final train loss | time (s) | peak RSS (MB) "
                + "| optimizer state (KB) | trainable params |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        sb.append("| base (no fine-tuning) | - | - | ").append(Spread.of(baseExactMatch).format(1, 100))
                .append(" | - | - | - | - | - |\n");
        for (Map.Entry<Method, List<MethodRun>> e : byMethod.entrySet()) {
            List<MethodRun> r = e.getValue();
            MethodRun first = r.get(0);
            long peak = r.stream().mapToLong(MethodRun::peakRssBytes).max().orElse(-1);
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %.1f | %s | %.1f | %,d |%n",
                    e.getKey().id(), lr(first.lr()),
                    spread(r, MethodRun::evalLoss).format(4, 1),
                    spread(r, MethodRun::exactMatch).format(1, 100),
                    spread(r, MethodRun::finalLoss).format(4, 1),
                    spread(r, MethodRun::seconds).mean(),
                    peak > 0 ? String.format(Locale.ROOT, "%.0f", peak / 1e6) : "-",
                    first.optimizerStateBytes() / 1024.0, first.trainableParameters()));
        }
        int seeds = byMethod.values().iterator().next().size();
        sb.append('\n');
        if (seeds < 2) {
            sb.append("One seed: no spread is measured, so no difference above can be called larger than the "
                    + "run-to-run variation (run without --quick for several seeds).\n");
            return sb.toString();
        }
        sb.append(String.format(Locale.ROOT, "Values are mean ± sample standard deviation over %d seeds; time is "
                + "the mean, peak RSS the largest.%n%n", seeds));
        sb.append("| comparison | held-out loss: difference of means | sd + sd | larger than the spread? "
                + "| exact match: difference (points) | sd + sd | larger than the spread? |\n");
        sb.append("|---|---:|---:|---|---:|---:|---|\n");
        List<Method> methods = new ArrayList<>(byMethod.keySet());
        for (int i = 0; i < methods.size(); i++) {
            for (int j = i + 1; j < methods.size(); j++) {
                List<MethodRun> a = byMethod.get(methods.get(i));
                List<MethodRun> b = byMethod.get(methods.get(j));
                sb.append("| ").append(methods.get(j).id()).append(" - ").append(methods.get(i).id())
                        .append(comparison(spread(b, MethodRun::evalLoss), spread(a, MethodRun::evalLoss), 4, 1))
                        .append(comparison(spread(b, MethodRun::exactMatch), spread(a, MethodRun::exactMatch), 1,
                                100))
                        .append(" |\n");
            }
        }
        sb.append(gapLine(byMethod));
        return sb.toString();
    }

    /**
     * Where LoRA-Pro's mean held-out loss lies between LoRA's (0%) and full fine-tuning's (100%),
     * stated only when full fine-tuning's lead over LoRA is larger than the spread.
     */
    private static String gapLine(Map<Method, List<MethodRun>> byMethod) {
        if (!byMethod.containsKey(Method.FULL) || !byMethod.containsKey(Method.LORA)
                || !byMethod.containsKey(Method.LORA_PRO)) {
            return "";
        }
        Spread full = spread(byMethod.get(Method.FULL), MethodRun::evalLoss);
        Spread lora = spread(byMethod.get(Method.LORA), MethodRun::evalLoss);
        Spread loraPro = spread(byMethod.get(Method.LORA_PRO), MethodRun::evalLoss);
        if (!(full.mean() < lora.mean() && full.differsBeyondSpread(lora))) {
            return "\nFull fine-tuning's held-out loss is not lower than LoRA's by more than the spread, so there "
                    + "is no measured gap for LoRA-Pro to close.\n";
        }
        double closed = (lora.mean() - loraPro.mean()) / (lora.mean() - full.mean());
        return String.format(Locale.ROOT, "%nHeld-out loss gap from LoRA to full fine-tuning: %.4f. LoRA-Pro's mean "
                + "lies %.0f%% of the way from LoRA to full fine-tuning; its difference from LoRA is %s the spread.%n",
                lora.mean() - full.mean(), 100 * closed,
                loraPro.differsBeyondSpread(lora) ? "larger than" : "within");
    }

    private static String comparison(Spread b, Spread a, int decimals, double scale) {
        String pattern = "%+." + decimals + "f";
        String plain = "%." + decimals + "f";
        return String.format(Locale.ROOT, " | " + pattern + " | " + plain + " | %s", scale * (b.mean() - a.mean()),
                scale * (a.sd() + b.sd()), b.differsBeyondSpread(a) ? "yes" : "no");
    }

    private static Spread spread(List<MethodRun> runs, ToDoubleFunction<MethodRun> field) {
        return Spread.of(runs.stream().mapToDouble(field).toArray());
    }

    static String lr(float lr) {
        return String.format(Locale.ROOT, "%.0e", lr).replace("e-0", "e-");
    }
}
