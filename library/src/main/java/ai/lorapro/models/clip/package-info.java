/**
 * CLIP ({@code CLIPModel}) as DJL blocks with Hugging Face parameter names: the ViT vision tower,
 * the causal text tower, their projections and the contrastive logits, CLIP's image
 * preprocessing, and a zero-shot-initialised image classifier for LoRA fine-tuning.
 */
package ai.lorapro.models.clip;
