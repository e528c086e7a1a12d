/**
 * The models are Hugging Face architectures as DJL blocks whose parameters carry the checkpoint
 * names, one package per family ({@code llama}, {@code t5}, {@code clip}). Layers shared by the transformer models (Llama, T5, CLIP): embeddings, norms, multi-head
 * attention with rotary embeddings and KV cache, MLPs, masks, the causal-LM loss and generation.
 */
package ai.lorapro.models.common;
