/**
 * LoRA-Pro (Wang et al., ICLR 2025) optimizers for DJL.
 *
 * <p>A LoRA layer trains W = W0 + s B A with B (m x r) and A (r x n). One optimizer step on the
 * factors moves W by s B dA + s dB A, a restricted version of the full fine-tuning step. LoRA-Pro
 * chooses the factor gradients so that this equivalent gradient is the closest one (in Frobenius
 * norm) to the full gradient g = dL/dW, using only the LoRA gradients gA = s B^T g and gB = s g A^T
 * that autograd already gives:
 *
 * <pre>
 * gA* = (1/s^2) (B^T B)^-1 gA + X A
 * gB* = (1/s^2) [I - B (B^T B)^-1 B^T] gB (A A^T)^-1 - B X
 * g~  = s B gA* + s gB* A = P_B g + (I - P_B) g P_A
 * </pre>
 *
 * <p>X (r x r) does not change g~; {@link ai.lorapro.optim.XMode#SYLVESTER} picks the X that keeps
 * (gA*, gB*) closest to (gA, gB) by solving (B^T B) X + X (A A^T) = -(1/s^2) (B^T B)^-1 gA A^T.
 * Both Grams are formed in double precision; their eigenvalues become max(lambda, 1e-4
 * lambda_max) + delta, so training can start from B = 0 and a rank-deficient factor does not
 * amplify float32 rounding.
 *
 * <p>{@link ai.lorapro.optim.LoraProSgd} steps along (gA*, gB*) (the paper's Algorithm 1). {@link
 * ai.lorapro.optim.LoraProAdamW} (Algorithm 2) keeps Adam's moments of the full-size g~, projects
 * Adam's normalised step back onto the factors and adjusts it the same way; its efficient mode
 * instead runs AdamW on the adjusted factor gradients. Both are ordinary DJL {@link
 * ai.djl.training.optimizer.Optimizer}s: they pair the per-parameter updates of a trainer into joint
 * steps on each LoRA pair (registered with {@code addLoraLayers(block)}) and update every other
 * trainable parameter with plain SGD or AdamW. The r x r algebra ({@link
 * ai.lorapro.optim.LoraProMath}) runs on the host in double precision; products with m or n
 * dimensions run on the weights' device, except in the fused CPU step of full mode at small ranks,
 * which holds host copies of the factors and forms them there.
 *
 * <p>The classes: {@link ai.lorapro.optim.ResumableOptimizer} is the base of every optimizer here
 * (state under stable names for checkpoints, step counts, DJL's {@code update} adapter); {@link
 * ai.lorapro.optim.LoraProOptimizer} adds the joint step of each LoRA pair for the two LoRA-Pro
 * optimizers; {@link ai.lorapro.optim.PlainAdamW}, the baselines' AdamW, steps every parameter on
 * its own.
 */
package ai.lorapro.optim;
