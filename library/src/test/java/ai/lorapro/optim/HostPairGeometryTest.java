package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

/**
 * The host geometry of the fused CPU step ({@link HostPairGeometry}, fp32 rows) against the tensor
 * geometry ({@link PairGeometry}) run in float64 on the same values: the adjusted gradients for
 * every choice of X and the factors of the equivalent gradient.
 */
class HostPairGeometryTest extends ManagedTest {

    /** fp32 factors and coefficients against a float64 reference: a few float roundings. */
    private static final double AGREEMENT = 2e-6;

    private static float[] gaussian(Random rng, int size, double std) {
        float[] out = new float[size];
        for (int i = 0; i < size; i++) {
            out[i] = (float) (std * rng.nextGaussian());
        }
        return out;
    }

    private NDArray wide(float[] values, int rows, int cols) {
        double[] d = new double[values.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = values[i];
        }
        return manager.create(d, new Shape(rows, cols));
    }

    /** ||actual - expected|| / ||expected||, NaN (failing every bound) for an all-zero expectation. */
    private static double relativeError(float[] actual, double[] expected) {
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = actual[i] - expected[i];
            diff += d * d;
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Double.NaN : Math.sqrt(diff / norm);
    }

    @ParameterizedTest(name = "{0}x{1} r={2} s={3} zeroB={4}")
    @CsvSource({
        "67, 110, 8, 2.0, false",
        "110, 45, 4, 2.0, false",
        "40, 30, 1, 2.0, false",
        "50, 70, 3, 5.3333335, false",
        "130, 96, 64, 0.25, false",
        "48, 40, 8, 2.0, true"
    })
    void hostGeometryAgreesWithTheTensorGeometryInDouble(int m, int n, int r, double s, boolean zeroB) {
        Random rng = new Random(m * 131L + n * 7L + r);
        float[] a = gaussian(rng, r * n, 1 / Math.sqrt(n));
        float[] b = zeroB ? new float[m * r] : gaussian(rng, m * r, 0.1);
        float[] gradA = gaussian(rng, r * n, 1e-2);
        float[] gradB = gaussian(rng, m * r, 1e-2);
        NDArray aWide = wide(a, r, n);
        NDArray bWide = wide(b, m, r);
        PairGeometry tensor = new PairGeometry(aWide, bWide, FactorGrams.of(aWide, bWide, LoraProMath.DEFAULT_DELTA),
                wide(gradA, r, n), wide(gradB, m, r), s);
        float[][] aRows = FactorRows.rows(a, r);
        float[][] bt = FactorRows.transposedRows(b, r);
        HostPairGeometry host = new HostPairGeometry(aRows, bt, FactorGrams.ofRows(aRows, bt, LoraProMath.DEFAULT_DELTA),
                FactorRows.rows(gradA, r), FactorRows.transposedRows(gradB, r), s);
        for (XMode mode : XMode.values()) {
            NDList expected = tensor.adjusted(tensor.x(mode));
            float[][][] actual = host.adjusted(host.x(mode));
            double errorA = relativeError(FactorRows.rowMajor(actual[0]), expected.get(0).toDoubleArray());
            double errorB = relativeError(FactorRows.transposedRowMajor(actual[1]), expected.get(1).toDoubleArray());
            assertTrue(errorA < AGREEMENT && errorB < AGREEMENT, mode + ": gA* off by " + errorA + ", gB* by " + errorB);
        }
        NDList expected = tensor.equivalentFactors(0.1);
        float[][] actual = host.equivalentFactors(0.1);
        double errorLeft = relativeError(actual[0], expected.get(0).toDoubleArray());
        double errorRight = relativeError(actual[1], expected.get(1).toDoubleArray());
        assertTrue(errorLeft < AGREEMENT && errorRight < AGREEMENT,
                "equivalent factors off by " + errorLeft + " (left) and " + errorRight + " (right)");
        assertEquals(DataType.FLOAT64, expected.get(0).getDataType());
    }
}
