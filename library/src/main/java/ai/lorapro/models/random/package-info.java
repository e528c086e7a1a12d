/**
 * Random-weight models at real configurations, written in Hugging Face's layout (config.json,
 * sharded safetensors with their index, a byte-level tokenizer.json) one tensor at a time, so that
 * models of any size can be tried without a download. Initialisation follows each family's
 * Hugging Face {@code _init_weights}.
 */
package ai.lorapro.models.random;
