package ai.lorapro.benchmarks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

import java.io.PrintStream;
import java.util.List;

/**
 * What forming a LoRA pair's Grams B^T B and A A^T in double precision costs (the optimizers do it
 * every step, see FactorGrams), on the host or on the device, next to the float32 Grams they
 * replaced and to one pass over an m x n float32 array, the unit a LoRA-Pro full-mode step is made
 * of (it takes about ten).
 *
 * <p>host: copy B (m x r) and A (r x n) to the host as double, then B^T B and A A^T with EJML.
 * device_double (what the optimizers do): double copies of B and A on the device, the products
 * there, the two r x r results to the host. device_float32: the same without the copies, in
 * float32 (the old way, wrong for ill-conditioned factors).
 * pass: {@code w.muli(0.9f)} on an m x n float32 array.
 */
final class GramBench {

    /** Llama-2-7B's adapted shapes (m x n). */
    private static final long[][] SHAPES = {{4096, 4096}, {11008, 4096}, {4096, 11008}};

    private final int warmup;
    private final int steps;
    private final List<Integer> ranks;
    private final PrintStream out;

    GramBench(int warmup, int steps, List<Integer> ranks, PrintStream out) {
        this.warmup = warmup;
        this.steps = steps;
        this.ranks = ranks;
        this.out = out;
    }

    void run(NDManager root) {
        for (long[] shape : SHAPES) {
            int m = (int) shape[0];
            int n = (int) shape[1];
            try (NDManager manager = root.newSubManager()) {
                NDArray w = manager.randomNormal(new Shape(m, n));
                double[] pass = Timing.run(warmup, steps, () -> w.muli(0.9f));
                for (int r : ranks) {
                    NDArray b = manager.randomNormal(new Shape(m, r));
                    NDArray a = manager.randomNormal(new Shape(r, n));
                    double[] host = Timing.run(warmup, steps, () -> hostGrams(a, b));
                    double[] device = Timing.run(warmup, steps, () -> deviceGrams(a, b));
                    double[] deviceDouble = Timing.run(warmup, steps, () -> deviceDoubleGrams(a, b));
                    out.println(JsonLine.of("gram")
                            .put("m", m)
                            .put("n", n)
                            .put("r", r)
                            .put("host_double_ms", Timing.median(host))
                            .put("device_float32_ms", Timing.median(device))
                            .put("device_double_ms", Timing.median(deviceDouble))
                            .put("mn_pass_ms", Timing.median(pass))
                            .put("host_over_pass", Timing.median(host) / Timing.median(pass))
                            .put("device_double_over_pass", Timing.median(deviceDouble) / Timing.median(pass))
                            .put("steps", steps)
                            .withMachine());
                }
            }
        }
    }

    private static DMatrixRMaj toHost(NDArray array) {
        Shape shape = array.getShape();
        try (NDArray wide = array.toType(DataType.FLOAT64, true)) {
            return new DMatrixRMaj((int) shape.get(0), (int) shape.get(1), true, wide.toDoubleArray());
        }
    }

    private static void hostGrams(NDArray a, NDArray b) {
        DMatrixRMaj bh = toHost(b);
        DMatrixRMaj ah = toHost(a);
        DMatrixRMaj gramB = new DMatrixRMaj(bh.numCols, bh.numCols);
        DMatrixRMaj gramA = new DMatrixRMaj(ah.numRows, ah.numRows);
        CommonOps_DDRM.multTransA(bh, bh, gramB);
        CommonOps_DDRM.multTransB(ah, ah, gramA);
    }

    private static void deviceDoubleGrams(NDArray a, NDArray b) {
        try (NDArray b64 = b.toType(DataType.FLOAT64, true);
                NDArray a64 = a.toType(DataType.FLOAT64, true)) {
            deviceGrams(a64, b64);
        }
    }

    private static void deviceGrams(NDArray a, NDArray b) {
        try (NDArray bt = b.transpose();
                NDArray at = a.transpose();
                NDArray btb = bt.matMul(b);
                NDArray aat = a.matMul(at)) {
            btb.toArray();
            aat.toArray();
        }
    }
}
