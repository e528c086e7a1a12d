/**
 * The paper's generation-based evaluations: GSM8K accuracy (final-number match), HumanEval pass@1
 * (samples executed by python3 when available) and MT-Bench answers in FastChat's format for
 * external judging.
 */
package ai.lorapro.tasks.eval;
