/**
 * Task adapters for the LoRA-Pro paper's experiments: for each task family a dataset reader, a
 * prompt or label format and a metric, on top of the models and the training engine. Shared here:
 * bad-record handling ({@link ai.lorapro.tasks.BadRecords}), JSON-lines reading, output files and
 * the {@link ai.lorapro.tasks.TextGenerator} seam used by the generation-based evaluations.
 */
package ai.lorapro.tasks;
