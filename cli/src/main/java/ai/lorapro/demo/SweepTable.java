package ai.lorapro.demo;

import ai.lorapro.train.Method;

import java.util.List;
import java.util.Map;

/** The learning-rate sweep's Markdown table: mean +- sd validation loss per method and rate. */
final class SweepTable {

    private SweepTable() {}

    /**
     * The table; fills {@code best} with each method's rate of lowest mean validation loss.
     *
     * @param losses per method, per rate (rows in grid order), per seed: the validation loss
     */
    static String markdown(String header, List<Float> grid, Map<Method, double[][]> losses, Map<Method, Float> best) {
        StringBuilder sb = new StringBuilder(header).append('\n');
        sb.append("Validation loss (mean ± sd over seeds) per learning rate; * marks each method's lowest mean.\n\n");
        sb.append("| lr |");
        for (Method m : losses.keySet()) {
            sb.append(' ').append(m.id()).append(" |");
        }
        sb.append("\n|---|").append("---:|".repeat(losses.size())).append('\n');
        for (Map.Entry<Method, double[][]> e : losses.entrySet()) {
            int argmin = 0;
            for (int k = 1; k < grid.size(); k++) {
                if (Spread.of(e.getValue()[k]).mean() < Spread.of(e.getValue()[argmin]).mean()) {
                    argmin = k;
                }
            }
            best.put(e.getKey(), grid.get(argmin));
        }
        for (int k = 0; k < grid.size(); k++) {
            sb.append("| ").append(ResultsTable.lr(grid.get(k))).append(" |");
            for (Map.Entry<Method, double[][]> e : losses.entrySet()) {
                boolean chosen = best.get(e.getKey()).equals(grid.get(k));
                sb.append(' ').append(Spread.of(e.getValue()[k]).format(4, 1)).append(chosen ? " *" : "").append(" |");
            }
            sb.append('\n');
        }
        sb.append("\nChosen:");
        best.forEach((m, lr) -> sb.append(' ').append(m.id()).append(' ').append(ResultsTable.lr(lr)));
        return sb.append('\n').toString();
    }
}
