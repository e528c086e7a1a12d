/** Llama (Llama-2 layout) as DJL blocks that load Hugging Face checkpoints. */
package ai.lorapro.models.llama;
