/** The self-contained {@code lorapro demo}: generated arithmetic, a tiny Llama, full vs LoRA vs LoRA-Pro. */
package ai.lorapro.demo;
