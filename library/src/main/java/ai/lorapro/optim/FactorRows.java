package ai.lorapro.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import org.ejml.data.DMatrixRMaj;

/**
 * The products of LoRA's thin factors on the host, for the fused CPU step. Every factor is held as
 * r rows (a {@code float[r][len]}): A and gA as they are (r x n), B and gB transposed (r x m). Then
 * each product a LoRA-Pro step needs is one of two forms:
 *
 * <pre>
 * X Y^T          (r x r, a sum over len):  B^T B, A A^T, B^T gB, gA A^T
 * C1 X1 + C2 X2  (r x len, C r x r):       leftA gA + X A,  rightB^T gB^T - correctionB^T B^T
 * </pre>
 *
 * (leftA, rightB and correctionB as in {@link AdjustmentCoefficients}). The first sums in double
 * precision (products of floats are exact in double), as the Grams must be (see {@link
 * FactorGrams}); the second rounds its r x r coefficients to float, as the tensor path does, and
 * runs as multiply-adds over whole rows, which the JIT vectorises.
 */
final class FactorRows {

    private FactorRows() {}

    /**
     * X Y^T in double precision; symmetric (and about half the work) when {@code x == y}. Entries
     * are computed in 2 x 2 blocks, four sums sharing each pass over two rows of X and two of Y.
     *
     * @param x r rows of len
     * @param y r' rows of the same len
     * @return r x r'
     */
    static DMatrixRMaj timesTranspose(float[][] x, float[][] y) {
        boolean symmetric = x == y;
        DMatrixRMaj out = new DMatrixRMaj(x.length, y.length);
        double[] block = new double[4];
        for (int k = 0; k < x.length; k += 2) {
            for (int l = symmetric ? k : 0; l < y.length; l += 2) {
                if (k + 1 < x.length && l + 1 < y.length) {
                    dot2x2(x[k], x[k + 1], y[l], y[l + 1], block);
                    out.set(k, l, block[0]);
                    out.set(k, l + 1, block[1]);
                    out.set(k + 1, l, block[2]);
                    out.set(k + 1, l + 1, block[3]);
                } else {
                    for (int kk = k; kk < Math.min(k + 2, x.length); kk++) {
                        for (int ll = l; ll < Math.min(l + 2, y.length); ll++) {
                            out.set(kk, ll, dot(x[kk], y[ll]));
                        }
                    }
                }
            }
        }
        if (symmetric) {
            for (int k = 0; k < x.length; k++) {
                for (int l = 0; l < k; l++) {
                    out.set(k, l, out.get(l, k));
                }
            }
        }
        return out;
    }

    /** The four sums x_a . y_c, x_a . y_d, x_b . y_c, x_b . y_d in double (products of floats are exact). */
    private static void dot2x2(float[] xa, float[] xb, float[] yc, float[] yd, double[] out) {
        int len = xa.length;
        if (xb.length != len || yc.length != len || yd.length != len) {
            throw new IllegalArgumentException("rows of different lengths");
        }
        double ac = 0;
        double ad = 0;
        double bc = 0;
        double bd = 0;
        for (int j = 0; j < len; j++) {
            double a = xa[j];
            double b = xb[j];
            double c = yc[j];
            double d = yd[j];
            ac += a * c;
            ad += a * d;
            bc += b * c;
            bd += b * d;
        }
        out[0] = ac;
        out[1] = ad;
        out[2] = bc;
        out[3] = bd;
    }

    /** sum_j x_j y_j in double. */
    private static double dot(float[] x, float[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("rows of " + x.length + " and " + y.length);
        }
        double sum = 0;
        for (int j = 0; j < x.length; j++) {
            sum += (double) x[j] * y[j];
        }
        return sum;
    }

    /**
     * c1 x1 + c2 x2 as new rows, each coefficient rounded to float.
     *
     * @param c1 r x r1
     * @param x1 r1 rows of len
     * @param c2 r x r2, or null for c1 x1 alone
     * @param x2 r2 rows of len (ignored when {@code c2} is null)
     * @return r rows of len
     */
    static float[][] combine(DMatrixRMaj c1, float[][] x1, DMatrixRMaj c2, float[][] x2) {
        int len = x1[0].length;
        if (c1.numCols != x1.length || (c2 != null && (c2.numCols != x2.length || c2.numRows != c1.numRows
                || x2[0].length != len))) {
            throw new IllegalArgumentException("coefficient and row counts disagree");
        }
        float[][] out = new float[c1.numRows][len];
        for (int k = 0; k < out.length; k++) {
            addTimes(out[k], c1, k, x1);
            if (c2 != null) {
                addTimes(out[k], c2, k, x2);
            }
        }
        return out;
    }

    /** out += sum_l c_kl x_l. */
    private static void addTimes(float[] out, DMatrixRMaj c, int k, float[][] x) {
        for (int l = 0; l < x.length; l++) {
            float coefficient = (float) c.get(k, l);
            float[] row = x[l];
            for (int j = 0; j < out.length; j++) {
                out[j] += coefficient * row[j];
            }
        }
    }

    /** The rows of a row-major r x len matrix. */
    static float[][] rows(float[] rowMajor, int r) {
        int len = rowMajor.length / r;
        float[][] out = new float[r][len];
        for (int k = 0; k < r; k++) {
            System.arraycopy(rowMajor, k * len, out[k], 0, len);
        }
        return out;
    }

    /** The rows of the transpose of a row-major m x r matrix: r rows of m. */
    static float[][] transposedRows(float[] rowMajor, int r) {
        int m = rowMajor.length / r;
        float[][] out = new float[r][m];
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < r; k++) {
                out[k][i] = rowMajor[i * r + k];
            }
        }
        return out;
    }

    /** The rows concatenated: the row-major r x len matrix. */
    static float[] rowMajor(float[][] rows) {
        int len = rows[0].length;
        float[] out = new float[rows.length * len];
        for (int k = 0; k < rows.length; k++) {
            System.arraycopy(rows[k], 0, out, k * len, len);
        }
        return out;
    }

    /** The row-major m x r matrix whose transpose has these r rows of m. */
    static float[] transposedRowMajor(float[][] rows) {
        int r = rows.length;
        int m = rows[0].length;
        float[] out = new float[m * r];
        for (int k = 0; k < r; k++) {
            float[] row = rows[k];
            for (int i = 0; i < m; i++) {
                out[i * r + k] = row[i];
            }
        }
        return out;
    }

    /** Whether every element is finite. */
    static boolean allFinite(float[][] rows) {
        for (float[] row : rows) {
            for (float v : row) {
                if (!Float.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A 2-D array's elements on the host as fp32, row major (one copy). */
    static float[] floats(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x.toFloatArray();
        }
        try (NDArray wide = x.toType(DataType.FLOAT32, true)) {
            return wide.toFloatArray();
        }
    }
}
