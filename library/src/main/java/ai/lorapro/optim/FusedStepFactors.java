package ai.lorapro.optim;

/**
 * What one fused full-mode step needs besides the moments: the low-rank factors of (1 - beta1) g~,
 * the factors A and B the direction is projected onto, and Adam's constants, all fp32 and row major.
 *
 * @param rank r
 * @param cols n
 * @param left the m x 2r left factor of (1 - beta1) g~
 * @param right the 2r x n right factor
 * @param a A (r x n)
 * @param b B (m x r)
 * @param beta1 Adam's beta1
 * @param beta2 Adam's beta2
 * @param varianceScale (1 - beta2) / (1 - beta1)^2, which turns t^2 into (1 - beta2) g~^2
 * @param epsilon eps' = eps sqrt(1 - beta2^t)
 */
record FusedStepFactors(
        int rank,
        int cols,
        float[] left,
        float[] right,
        float[] a,
        float[] b,
        float beta1,
        float beta2,
        float varianceScale,
        float epsilon) {

    FusedStepFactors {
        if (a.length != rank * cols || right.length != 2 * rank * cols || left.length / 2 != b.length
                || b.length % rank != 0) {
            throw new IllegalArgumentException("factor sizes disagree");
        }
    }

    /** The factors of one step, with Adam's constants rounded to fp32 as the kernels use them. */
    static FusedStepFactors of(int rank, int cols, float[] left, float[] right, float[] a, float[] b,
            double beta1, double beta2, double epsilon) {
        return new FusedStepFactors(rank, cols, left, right, a, b, (float) beta1, (float) beta2,
                (float) ((1 - beta2) / ((1 - beta1) * (1 - beta1))), (float) epsilon);
    }

    /**
     * Checks that {@code m} and {@code v} are rows() x cols and stored alike.
     *
     * @throws IllegalArgumentException if not
     */
    void requireMoments(MomentRows m, MomentRows v) {
        if (m.rows() != rows() || v.rows() != rows() || m.cols() != cols || v.cols() != cols || m.isBf16() != v.isBf16()) {
            throw new IllegalArgumentException("moment shapes " + m.rows() + "x" + m.cols() + " and " + v.rows() + "x"
                    + v.cols() + (m.isBf16() != v.isBf16() ? " (one bf16, one fp32)" : "") + " disagree with factors of "
                    + rows() + "x" + cols);
        }
    }

    /** m, the number of rows of the moments. */
    int rows() {
        return b.length / rank;
    }
}
