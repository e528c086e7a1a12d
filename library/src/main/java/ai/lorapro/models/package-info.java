/**
 * Hugging Face model architectures as DJL blocks whose parameters carry the checkpoint names:
 * shared layers in {@code common}, one package per model family.
 */
package ai.lorapro.models;
