/**
 * CLIP ViT-B/16 image classification (the paper's vision experiments): ImageFolder datasets,
 * class-name prompts for the zero-shot head, and top-1 accuracy.
 */
package ai.lorapro.tasks.vision;
