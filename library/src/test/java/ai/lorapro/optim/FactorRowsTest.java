package ai.lorapro.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

/** The host products of {@link FactorRows} against EJML on the same values in double precision. */
class FactorRowsTest {

    private static float[][] random(Random rng, int rows, int len) {
        float[][] out = new float[rows][len];
        for (float[] row : out) {
            for (int j = 0; j < len; j++) {
                row[j] = (float) rng.nextGaussian();
            }
        }
        return out;
    }

    private static DMatrixRMaj toMatrix(float[][] rows) {
        DMatrixRMaj out = new DMatrixRMaj(rows.length, rows[0].length);
        for (int k = 0; k < rows.length; k++) {
            for (int j = 0; j < rows[k].length; j++) {
                out.set(k, j, rows[k][j]);
            }
        }
        return out;
    }

    private static DMatrixRMaj randomCoefficients(Random rng, int rows, int cols) {
        DMatrixRMaj out = new DMatrixRMaj(rows, cols);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = rng.nextGaussian();
        }
        return out;
    }

    @ParameterizedTest(name = "r={0} r'={1} len={2}")
    @CsvSource({"8, 8, 2048", "1, 1, 37", "3, 5, 101", "9, 9, 64", "64, 64, 130", "7, 2, 1"})
    void timesTransposeIsTheProductInDouble(int r, int rPrime, int len) {
        Random rng = new Random(r * 1000L + len);
        float[][] x = random(rng, r, len);
        float[][] y = random(rng, rPrime, len);
        DMatrixRMaj expected = new DMatrixRMaj(r, rPrime);
        CommonOps_DDRM.multTransB(toMatrix(x), toMatrix(y), expected);
        DMatrixRMaj actual = FactorRows.timesTranspose(x, y);
        for (int i = 0; i < expected.data.length; i++) {
            // products of floats are exact in double: only the order of the sums differs
            assertEquals(expected.data[i], actual.data[i], 1e-12 * Math.sqrt(len), "entry " + i);
        }
        // the Gram, symmetric by construction
        DMatrixRMaj gram = new DMatrixRMaj(r, r);
        CommonOps_DDRM.multTransB(toMatrix(x), toMatrix(x), gram);
        DMatrixRMaj actualGram = FactorRows.timesTranspose(x, x);
        for (int k = 0; k < r; k++) {
            for (int l = 0; l < r; l++) {
                assertEquals(gram.get(k, l), actualGram.get(k, l), 1e-12 * Math.sqrt(len), "Gram entry " + k + "," + l);
                assertEquals(actualGram.get(l, k), actualGram.get(k, l), 0);
            }
        }
    }

    @ParameterizedTest(name = "r={0} len={1}")
    @CsvSource({"8, 2048", "1, 5", "5, 33"})
    void combineIsTheSumOfTwoProducts(int r, int len) {
        Random rng = new Random(r + 7L * len);
        float[][] x1 = random(rng, r, len);
        float[][] x2 = random(rng, r, len);
        DMatrixRMaj c1 = randomCoefficients(rng, r, r);
        DMatrixRMaj c2 = randomCoefficients(rng, r, r);
        DMatrixRMaj expected = new DMatrixRMaj(r, len);
        CommonOps_DDRM.mult(c1, toMatrix(x1), expected);
        DMatrixRMaj second = new DMatrixRMaj(r, len);
        CommonOps_DDRM.mult(c2, toMatrix(x2), second);
        CommonOps_DDRM.addEquals(expected, second);
        float[][] both = FactorRows.combine(c1, x1, c2, x2);
        float[][] first = FactorRows.combine(c1, x1, null, null);
        DMatrixRMaj firstExpected = new DMatrixRMaj(r, len);
        CommonOps_DDRM.mult(c1, toMatrix(x1), firstExpected);
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < len; j++) {
                // float arithmetic on coefficients rounded to float: a few ulps of the terms' size
                double scale = 4 * r;
                assertEquals(expected.get(k, j), both[k][j], 1e-6 * scale, "entry " + k + "," + j);
                assertEquals(firstExpected.get(k, j), first[k][j], 1e-6 * scale, "entry " + k + "," + j);
            }
        }
    }

    @ParameterizedTest(name = "r={0} m={1}")
    @CsvSource({"8, 100", "1, 3", "3, 1"})
    void layoutsRoundTrip(int r, int m) {
        Random rng = new Random(r * 31L + m);
        float[] rowMajor = new float[m * r];
        for (int i = 0; i < rowMajor.length; i++) {
            rowMajor[i] = (float) rng.nextGaussian();
        }
        // an m x r matrix read as the rows of its transpose
        float[][] transposed = FactorRows.transposedRows(rowMajor, r);
        assertEquals(r, transposed.length);
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < r; k++) {
                assertEquals(rowMajor[i * r + k], transposed[k][i], 0);
            }
        }
        assertArrayEquals(rowMajor, FactorRows.transposedRowMajor(transposed), 0);
        // the same values read as an r x m matrix
        float[][] rows = FactorRows.rows(rowMajor, r);
        for (int k = 0; k < r; k++) {
            for (int j = 0; j < m; j++) {
                assertEquals(rowMajor[k * m + j], rows[k][j], 0);
            }
        }
        assertArrayEquals(rowMajor, FactorRows.rowMajor(rows), 0);
    }

    @Test
    void allFiniteFindsNaNAndInfinity() {
        assertTrue(FactorRows.allFinite(new float[][] {{1, 2}, {3, -4}}));
        assertFalse(FactorRows.allFinite(new float[][] {{1, 2}, {Float.NaN, 4}}));
        assertFalse(FactorRows.allFinite(new float[][] {{1, Float.NEGATIVE_INFINITY}, {3, 4}}));
    }
}
