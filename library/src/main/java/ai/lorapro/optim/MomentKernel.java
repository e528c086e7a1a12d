package ai.lorapro.optim;

/**
 * One implementation of the m x n pass of a fused full-mode step (see {@link FusedAdamKernel} for
 * the algebra): updates both moments in place and returns the two projections of Adam's direction.
 */
interface MomentKernel {

    /**
     * @param workers how many threads may share the rows
     * @return (B^T u, u A^T) as row-major arrays of r x n and m x r, unscaled
     */
    float[][] run(FusedStepFactors factors, MomentRows m, MomentRows v, int workers);
}
