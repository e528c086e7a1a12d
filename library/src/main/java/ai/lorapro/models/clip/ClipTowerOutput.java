package ai.lorapro.models.clip;

import ai.djl.ndarray.NDArray;

/**
 * The output of a CLIP tower.
 *
 * @param lastHiddenState [B, T, hidden], the encoder output (before any final norm for vision)
 * @param pooledOutput [B, hidden]: the post-normed class token (vision) or the final-normed state
 *     at the end-of-text token (text)
 */
public record ClipTowerOutput(NDArray lastHiddenState, NDArray pooledOutput) {}
