/**
 * Layers shared by the transformer models (Llama, T5, CLIP): embeddings, norms, multi-head
 * attention with rotary embeddings and KV cache, MLPs, masks, the causal-LM loss and generation.
 */
package ai.lorapro.models.common;
