/**
 * T5 ({@code T5ForConditionalGeneration}) as DJL blocks with Hugging Face parameter names:
 * encoder-decoder with relative position bias, LoRA-ready linear layers and greedy decoding.
 */
package ai.lorapro.models.t5;
