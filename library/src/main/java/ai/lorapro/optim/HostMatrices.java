package ai.lorapro.optim;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * Moves small (r x r) matrices between the device and the host, and does their linear algebra in
 * double precision with EJML: DJL has no eigen-decomposition or solver, and r is tiny.
 */
final class HostMatrices {

    private HostMatrices() {}

    /** A copy of a 2-D array on the host, in double precision. */
    static DMatrixRMaj toHost(NDArray array) {
        Shape shape = array.getShape();
        int rows = (int) shape.get(0);
        int cols = (int) shape.get(1);
        double[] values;
        if (array.getDataType() == DataType.FLOAT64) {
            values = array.toDoubleArray();
        } else {
            try (NDArray wide = array.toType(DataType.FLOAT64, true)) {
                values = wide.toDoubleArray();
            }
        }
        return new DMatrixRMaj(rows, cols, true, values);
    }

    /**
     * The Gram of {@code factor} in double precision on the host: F^T F when {@code columns} (for
     * B, m x r), else F F^T (for A, r x n). The product runs on the factor's device in float64, on
     * a double copy of the factor, so only the r x r result crosses to the host; products of float
     * values are exact in double and the sums accumulate in double.
     */
    static DMatrixRMaj gramInDouble(NDArray factor, boolean columns) {
        try (NDArray wide = factor.toType(DataType.FLOAT64, true);
                NDArray transposed = wide.transpose();
                NDArray gram = columns ? transposed.matMul(wide) : wide.matMul(transposed)) {
            return toHost(gram);
        }
    }

    /**
     * {@code matrix} as a new array of {@code like}'s type on {@code like}'s device, attached to
     * {@code like}'s manager. The device is the array's, not its manager's: in multi-device
     * training DJL attaches each device copy of a parameter to one manager of another device.
     *
     * @throws IllegalStateException if the engine put the result on another device
     */
    static NDArray toDevice(DMatrixRMaj matrix, NDArray like) {
        NDManager manager = like.getManager();
        Device device = like.getDevice();
        NDArray out;
        if (manager.getDevice().equals(device)) {
            out = create(manager, matrix, like.getDataType());
        } else {
            try (NDManager onDevice = manager.newSubManager(device)) {
                out = create(onDevice, matrix, like.getDataType());
                out.attach(manager);
            }
        }
        if (!out.getDevice().equals(device)) {
            Device got = out.getDevice();
            out.close();
            throw new IllegalStateException("an r x r array meant for " + device + " was created on " + got);
        }
        return out;
    }

    private static NDArray create(NDManager manager, DMatrixRMaj matrix, DataType type) {
        Shape shape = new Shape(matrix.numRows, matrix.numCols);
        if (type == DataType.FLOAT64) {
            return manager.create(matrix.data.clone(), shape);
        }
        float[] values = new float[matrix.getNumElements()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) matrix.data[i];
        }
        NDArray f32 = manager.create(values, shape);
        if (type == DataType.FLOAT32) {
            return f32;
        }
        NDArray converted = f32.toType(type, false);
        f32.close();
        return converted;
    }

    /**
     * Throws if {@code matrix} holds NaN or infinity.
     *
     * @param what the name used in the message
     * @throws NonFiniteFactorException naming {@code what}
     */
    static void requireFinite(DMatrixRMaj matrix, String what) {
        for (double v : matrix.data) {
            if (!Double.isFinite(v)) {
                throw new NonFiniteFactorException(what + " holds " + v);
            }
        }
    }

    /** a * b. */
    static DMatrixRMaj mult(DMatrixRMaj a, DMatrixRMaj b) {
        DMatrixRMaj out = new DMatrixRMaj(a.numRows, b.numCols);
        CommonOps_DDRM.mult(a, b, out);
        return out;
    }

    /** a^T * b. */
    static DMatrixRMaj multTransA(DMatrixRMaj a, DMatrixRMaj b) {
        DMatrixRMaj out = new DMatrixRMaj(a.numCols, b.numCols);
        CommonOps_DDRM.multTransA(a, b, out);
        return out;
    }

    /** a * b^T. */
    static DMatrixRMaj multTransB(DMatrixRMaj a, DMatrixRMaj b) {
        DMatrixRMaj out = new DMatrixRMaj(a.numRows, b.numRows);
        CommonOps_DDRM.multTransB(a, b, out);
        return out;
    }

    /** alpha * a, as a new matrix. */
    static DMatrixRMaj scale(double alpha, DMatrixRMaj a) {
        DMatrixRMaj out = new DMatrixRMaj(a.numRows, a.numCols);
        CommonOps_DDRM.scale(alpha, a, out);
        return out;
    }

    /**
     * The eigen-decomposition S = U diag(lambda) U^T of a symmetric matrix.
     *
     * @throws ArithmeticException if the decomposition fails (e.g. non-finite entries)
     */
    static SymmetricEigen eigh(DMatrixRMaj symmetric) {
        int n = symmetric.numRows;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(symmetric.copy())) {
            throw new ArithmeticException("eigen-decomposition of a " + n + "x" + n + " Gram matrix failed");
        }
        DMatrixRMaj vectors = new DMatrixRMaj(n, n);
        double[] values = new double[n];
        for (int j = 0; j < n; j++) {
            values[j] = eig.getEigenvalue(j).getReal();
            DMatrixRMaj v = eig.getEigenVector(j);
            if (v == null) {
                throw new ArithmeticException("eigen-decomposition of a Gram matrix gave a complex eigenvalue");
            }
            for (int i = 0; i < n; i++) {
                vectors.set(i, j, v.get(i, 0));
            }
        }
        return new SymmetricEigen(vectors, values);
    }

    /** Eigenvectors (columns of U) and eigenvalues of a symmetric matrix. */
    static final class SymmetricEigen {
        final DMatrixRMaj vectors;
        final double[] values;

        SymmetricEigen(DMatrixRMaj vectors, double[] values) {
            this.vectors = vectors;
            this.values = values;
        }

        /** U diag(1 / lambda) U^T. */
        DMatrixRMaj inverse() {
            return withValues(1, -1);
        }

        /** U diag(lambda) U^T. */
        DMatrixRMaj matrix() {
            return withValues(1, 1);
        }

        /** U diag(scale lambda^power) U^T for power +1 or -1. */
        private DMatrixRMaj withValues(double scale, int power) {
            int n = values.length;
            DMatrixRMaj scaled = vectors.copy();
            for (int j = 0; j < n; j++) {
                double factor = scale * (power < 0 ? 1 / values[j] : values[j]);
                for (int i = 0; i < n; i++) {
                    scaled.set(i, j, scaled.get(i, j) * factor);
                }
            }
            return multTransB(scaled, vectors);
        }

        /**
         * The same eigenvectors with eigenvalues max(lambda, relativeFloor lambda_max) + delta,
         * lambda_max the largest eigenvalue (0 if none is positive): every value is then at least
         * delta, and none is below relativeFloor lambda_max.
         */
        SymmetricEigen regularised(double relativeFloor, double delta) {
            double largest = 0;
            for (double v : values) {
                largest = Math.max(largest, v);
            }
            double floor = relativeFloor * largest;
            double[] out = new double[values.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = Math.max(values[i], floor) + delta;
            }
            return new SymmetricEigen(vectors, out);
        }
    }

    /**
     * Solves P X + X Q = C for symmetric positive definite P and Q given by their
     * eigen-decompositions: with P = U diag(lambda) U^T and Q = V diag(mu) V^T, X = U [(U^T C
     * V)_ij / (lambda_i + mu_j)] V^T, which is exact because lambda_i + mu_j > 0.
     */
    static DMatrixRMaj solveSylvester(SymmetricEigen p, SymmetricEigen q, DMatrixRMaj c) {
        DMatrixRMaj rotated = mult(multTransA(p.vectors, c), q.vectors);
        for (int i = 0; i < rotated.numRows; i++) {
            for (int j = 0; j < rotated.numCols; j++) {
                rotated.set(i, j, rotated.get(i, j) / (p.values[i] + q.values[j]));
            }
        }
        return multTransB(mult(p.vectors, rotated), q.vectors);
    }
}
