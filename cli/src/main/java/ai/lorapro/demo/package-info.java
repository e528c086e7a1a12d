/**
 * The self-contained {@code lorapro demo}: generated arithmetic, a tiny Llama, full vs LoRA vs
 * LoRA-Pro over several seeds, reported as mean and spread, with a learning-rate sweep per method.
 */
package ai.lorapro.demo;
